//! Tensors in scripts: values against closed forms, broadcasting, reductions, indexing,
//! printing, and libtorch failures coming back as located script errors (never panics).
//! No test changes the session dtype or device (they are process-wide and tests run in
//! parallel), so every value here is float64 on the CPU unless a dtype is asked for.

use rhai::Dynamic;

/// libtorch has one global RNG: tests that draw random numbers take turns.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn run(code: &str) -> Result<Dynamic, String> {
    telescope::script::new_session(None).eval("<test>", code)
}

/// A script's result as a float (ints accepted).
fn num(code: &str) -> f64 {
    let v = run(code).unwrap_or_else(|e| panic!("{code}: {e}"));
    v.as_float()
        .or_else(|_| v.as_int().map(|i| i as f64))
        .unwrap_or_else(|t| panic!("{code}: not a number: {t}"))
}

/// A script's result (a Tensor or nested arrays) as flat floats, via `to_array`.
fn flat(code: &str) -> Vec<f64> {
    fn walk(v: &Dynamic, out: &mut Vec<f64>) {
        if let Ok(a) = v.as_float() {
            out.push(a);
        } else if let Ok(i) = v.as_int() {
            out.push(i as f64);
        } else if let Ok(b) = v.as_bool() {
            out.push(if b { 1.0 } else { 0.0 });
        } else {
            let arr = v
                .clone()
                .into_array()
                .unwrap_or_else(|_| panic!("not an array: {}", v.type_name()));
            arr.iter().for_each(|x| walk(x, out));
        }
    }
    let v = run(&format!(
        "let __r = {{ {code} }}; if type_of(__r) == \"Tensor\" {{ __r.to_array() }} else {{ __r }}"
    ))
    .unwrap_or_else(|e| panic!("{code}: {e}"));
    let mut out = Vec::new();
    walk(&v, &mut out);
    out
}

fn shape(code: &str) -> Vec<i64> {
    let v = run(&format!("let __r = {{ {code} }}; __r.shape"))
        .unwrap_or_else(|e| panic!("{code}: {e}"));
    v.into_array()
        .unwrap()
        .iter()
        .map(|d| d.as_int().unwrap())
        .collect()
}

fn close(a: &[f64], b: &[f64], tol: f64) {
    assert_eq!(a.len(), b.len(), "{a:?} vs {b:?}");
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() <= tol * (1.0 + y.abs()), "{a:?} vs {b:?}");
    }
}

/// Runs `code`, expects an error located at `line:col` that mentions every word in `words`.
fn fails(code: &str, at: &str, words: &[&str]) {
    let e = run(code)
        .err()
        .unwrap_or_else(|| panic!("{code}: expected an error"));
    assert!(
        e.starts_with(&format!("<test>:{at}:")),
        "{code}: error not located at {at}: {e}"
    );
    assert!(!e.contains("internal error"), "{code}: {e}");
    for w in words {
        assert!(e.contains(w), "{code}: error `{e}` does not mention `{w}`");
    }
}

#[test]
fn creation_matches_closed_forms() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    close(
        &flat("tensor([[1, 2], [3, 4.5]])"),
        &[1.0, 2.0, 3.0, 4.5],
        0.0,
    );
    assert_eq!(shape("tensor([[1, 2, 3], [4, 5, 6]])"), vec![2, 3]);
    assert_eq!(shape("tensor(3)"), Vec::<i64>::new());
    assert_eq!(num("tensor(2.5).item()"), 2.5);
    close(&flat("zeros([2, 3])"), &[0.0; 6], 0.0);
    close(&flat("ones(4)"), &[1.0; 4], 0.0);
    close(&flat("full([2, 2], 7)"), &[7.0; 4], 0.0);
    assert_eq!(shape("randn([5, 3])"), vec![5, 3]);
    assert_eq!(shape("rand(4)"), vec![4]);
    // linspace: endpoints exact, equal spacing.
    close(
        &flat("linspace(-1, 2, 7)"),
        &(0..7).map(|i| -1.0 + 0.5 * i as f64).collect::<Vec<_>>(),
        1e-15,
    );
    close(&flat("arange(5)"), &[0.0, 1.0, 2.0, 3.0, 4.0], 0.0);
    close(&flat("arange(2, 5)"), &[2.0, 3.0, 4.0], 0.0);
    close(&flat("arange(0, 1, 0.25)"), &[0.0, 0.25, 0.5, 0.75], 1e-15);
    close(
        &flat("eye(3)"),
        &[1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
        0.0,
    );
    assert_eq!(shape("eye(2, 3)"), vec![2, 3]);
    // dtype control.
    assert_eq!(
        run("zeros(2).dtype").unwrap().into_string().unwrap(),
        "float64"
    );
    assert_eq!(
        run("zeros(2, \"float32\").dtype()")
            .unwrap()
            .into_string()
            .unwrap(),
        "float32"
    );
    assert_eq!(
        run("tensor([1, 2], \"int64\").dtype")
            .unwrap()
            .into_string()
            .unwrap(),
        "int64"
    );
    assert_eq!(
        run("ones(3).to_dtype(\"int32\").dtype")
            .unwrap()
            .into_string()
            .unwrap(),
        "int32"
    );
    assert_eq!(
        run("zeros(1).device").unwrap().into_string().unwrap(),
        "cpu"
    );
    // randn: sample moments of 20000 draws within 5 standard errors.
    let m = num("randn(20000).mean().item()");
    let v = num("randn(20000).variance().item()");
    assert!(m.abs() < 5.0 / 20000f64.sqrt(), "mean {m}");
    assert!((v - 1.0).abs() < 5.0 * (2.0 / 20000f64).sqrt(), "var {v}");
    let u = flat("rand(1000)");
    assert!(u.iter().all(|x| (0.0..1.0).contains(x)));
}

#[test]
fn to_array_round_trips() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let v = run("let a = [[1.5, -2.0, 3.0], [4.0, 5.0, 6.25]]; tensor(a).to_array() == a").unwrap();
    assert!(v.as_bool().unwrap());
    let v = run("let a = [[[1, 2]], [[3, 4]]]; tensor(a, \"int64\").to_array() == a").unwrap();
    assert!(v.as_bool().unwrap());
    assert_eq!(num("argmax(tensor([1, 5, 2])).item()"), 1.0);
    assert!(run("argmax(tensor([1, 5, 2])).item()").unwrap().is_int());
}

#[test]
fn arithmetic_broadcasts() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    close(
        &flat("tensor([1, 2]) + tensor([10, 20])"),
        &[11.0, 22.0],
        0.0,
    );
    close(&flat("tensor([1, 2]) - 1"), &[0.0, 1.0], 0.0);
    close(&flat("3.0 - tensor([1, 2])"), &[2.0, 1.0], 0.0);
    close(&flat("2 * tensor([1, 2])"), &[2.0, 4.0], 0.0);
    close(&flat("tensor([1, 2]) / 4"), &[0.25, 0.5], 0.0);
    close(&flat("1 / tensor([2, 4])"), &[0.5, 0.25], 0.0);
    close(&flat("-tensor([1, -2])"), &[-1.0, 2.0], 0.0);
    close(&flat("tensor([1, 2, 3]) ** 2"), &[1.0, 4.0, 9.0], 0.0);
    close(&flat("2 ** tensor([1, 2, 3])"), &[2.0, 4.0, 8.0], 0.0);
    close(&flat("pow(tensor([4, 9]), 0.5)"), &[2.0, 3.0], 1e-15);
    close(
        &flat("tensor([4, 9]).pow(tensor([1, 2]))"),
        &[4.0, 81.0],
        0.0,
    );
    // [3, 1] + [4] -> [3, 4] with entries i*10 + j.
    let code = "tensor([[0], [10], [20]]) + arange(4)";
    assert_eq!(shape(code), vec![3, 4]);
    close(
        &flat(code),
        &(0..12)
            .map(|k| (k / 4 * 10 + k % 4) as f64)
            .collect::<Vec<_>>(),
        0.0,
    );
    // Integer tensors: division gives the session dtype.
    assert_eq!(
        run("(tensor([1, 2], \"int64\") / 2).dtype")
            .unwrap()
            .into_string()
            .unwrap(),
        "float64"
    );
    close(&flat("tensor([1, 3], \"int64\") / 2"), &[0.5, 1.5], 0.0);
    // Compound assignment falls back to the operators, with value semantics.
    close(
        &flat(
            "let x = ones(2); let y = x; x += 1; x *= tensor([2, 3]); x -= 1; x /= 2; x + y * 100",
        ),
        &[101.5, 102.5],
        0.0,
    );
    close(&flat("maximum(tensor([1, 5]), 3)"), &[3.0, 5.0], 0.0);
    close(
        &flat("minimum(tensor([1, 5]), tensor([2, 2]))"),
        &[1.0, 2.0],
        0.0,
    );
}

#[test]
fn comparisons_give_zero_one_tensors() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let x = "let x = tensor([1, 2, 3]);";
    close(&flat(&format!("{x} x == 2")), &[0.0, 1.0, 0.0], 0.0);
    close(&flat(&format!("{x} x != 2")), &[1.0, 0.0, 1.0], 0.0);
    close(&flat(&format!("{x} x < 2")), &[1.0, 0.0, 0.0], 0.0);
    close(&flat(&format!("{x} x <= 2")), &[1.0, 1.0, 0.0], 0.0);
    close(&flat(&format!("{x} x > 1.5")), &[0.0, 1.0, 1.0], 0.0);
    close(&flat(&format!("{x} 2 >= x")), &[1.0, 1.0, 0.0], 0.0);
    close(
        &flat(&format!("{x} x == tensor([1, 0, 3])")),
        &[1.0, 0.0, 1.0],
        0.0,
    );
    assert_eq!(
        run(&format!("{x} (x > 1).dtype"))
            .unwrap()
            .into_string()
            .unwrap(),
        "float64"
    );
    // A mask sums to a count.
    assert_eq!(num("(arange(10) >= 7).sum().item()"), 3.0);
    assert!(run("equal(tensor([1, 2]), tensor([1, 2]))")
        .unwrap()
        .as_bool()
        .unwrap());
    assert!(!run("equal(tensor([1, 2]), tensor([1, 3]))")
        .unwrap()
        .as_bool()
        .unwrap());
    assert!(run("allclose(tensor([1, 2]), tensor([1, 2.0000000001]))")
        .unwrap()
        .as_bool()
        .unwrap());
    close(
        &flat("let x = linspace(-1, 1, 5); where(x > 0, x, 0.0)"),
        &[0.0, 0.0, 0.0, 0.5, 1.0],
        0.0,
    );
}

#[test]
fn reductions_along_dims() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // sum of 0..n-1 = n(n-1)/2; free function and method forms.
    assert_eq!(num("sum(arange(101)).item()"), 5050.0);
    assert_eq!(num("arange(101).sum().item()"), 5050.0);
    let m = "let m = arange(6).reshape([2, 3]);"; // [[0,1,2],[3,4,5]]
    close(&flat(&format!("{m} m.sum(0)")), &[3.0, 5.0, 7.0], 0.0);
    close(&flat(&format!("{m} sum(m, 1)")), &[3.0, 12.0], 0.0);
    assert_eq!(shape(&format!("{m} m.sum(1, true)")), vec![2, 1]);
    close(&flat(&format!("{m} m.mean(1)")), &[1.0, 4.0], 0.0);
    assert_eq!(num(&format!("{m} m.mean().item()")), 2.5);
    close(&flat(&format!("{m} m.max(0)")), &[3.0, 4.0, 5.0], 0.0);
    close(&flat(&format!("{m} min(m, 1)")), &[0.0, 3.0], 0.0);
    assert_eq!(num(&format!("{m} m.max().item()")), 5.0);
    assert_eq!(num(&format!("{m} m.min().item()")), 0.0);
    close(
        &flat("argmin(tensor([[3, 1, 2], [0, 5, -1]]), 1)"),
        &[1.0, 2.0],
        0.0,
    );
    close(
        &flat("tensor([[3, 1, 2], [0, 5, -1]]).argmax(0)"),
        &[0.0, 1.0, 0.0],
        0.0,
    );
    assert_eq!(num("tensor([[3, 1, 2], [0, 5, -1]]).argmin().item()"), 5.0);
    // norms: ||(3, 4)|| = 5; rows.
    assert_eq!(num("norm(tensor([3, 4])).item()"), 5.0);
    close(
        &flat("tensor([[3, 4], [5, 12]]).norm(1)"),
        &[5.0, 13.0],
        1e-15,
    );
    assert_eq!(shape("tensor([[3, 4], [5, 12]]).norm(1, true)"), vec![2, 1]);
    // unbiased variance of 1..5 = 2.5.
    close(
        &[num("tensor([1, 2, 3, 4, 5]).variance().item()")],
        &[2.5],
        1e-15,
    );
    close(
        &[num("tensor([1, 2, 3, 4, 5]).std().item()")],
        &[2.5f64.sqrt()],
        1e-15,
    );
    close(
        &flat("variance(tensor([[1, 3], [2, 6]]), 0)"),
        &[0.5, 4.5],
        1e-15,
    );
}

#[test]
fn elementwise_math() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let x = [0.5f64, 1.0, 2.0];
    let t = "let x = tensor([0.5, 1.0, 2.0]);";
    type Case = (&'static str, fn(f64) -> f64);
    let cases: [Case; 11] = [
        ("exp", f64::exp),
        ("log", f64::ln),
        ("sqrt", f64::sqrt),
        ("tanh", f64::tanh),
        ("sigmoid", |v| 1.0 / (1.0 + (-v).exp())),
        ("softplus", |v| (1.0 + v.exp()).ln()),
        ("sin", f64::sin),
        ("cos", f64::cos),
        ("square", |v| v * v),
        ("floor", f64::floor),
        ("abs", f64::abs),
    ];
    for (name, f) in cases {
        let want: Vec<f64> = x.iter().map(|v| f(*v)).collect();
        close(&flat(&format!("{t} {name}(x)")), &want, 1e-14);
        close(&flat(&format!("{t} x.{name}()")), &want, 1e-14);
    }
    close(&flat("relu(tensor([-1, 0, 2]))"), &[0.0, 0.0, 2.0], 0.0);
    close(&flat("sign(tensor([-3, 0, 2]))"), &[-1.0, 0.0, 1.0], 0.0);
    close(
        &flat("round(tensor([-1.7, 0.2, 2.6]))"),
        &[-2.0, 0.0, 3.0],
        0.0,
    );
    close(
        &flat("tensor([-2, 0.5, 3]).clamp(-1, 1)"),
        &[-1.0, 0.5, 1.0],
        0.0,
    );
    close(
        &flat("clamp(tensor([-2, 0.5, 3]), 0, ())"),
        &[0.0, 0.5, 3.0],
        0.0,
    );
}

#[test]
fn matmul_and_shapes() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // [[1,2],[3,4]] @ [[5,6],[7,8]] = [[19,22],[43,50]]
    close(
        &flat("matmul(tensor([[1, 2], [3, 4]]), tensor([[5, 6], [7, 8]]))"),
        &[19.0, 22.0, 43.0, 50.0],
        0.0,
    );
    close(
        &flat("tensor([[1, 2], [3, 4]]).matmul(tensor([1, 1]))"),
        &[3.0, 7.0],
        0.0,
    );
    let m = "let m = arange(6).reshape([2, 3]);";
    assert_eq!(shape(&format!("{m} m.reshape([3, -1])")), vec![3, 2]);
    close(
        &flat(&format!("{m} m.t()")),
        &[0.0, 3.0, 1.0, 4.0, 2.0, 5.0],
        0.0,
    );
    close(
        &flat(&format!("{m} transpose(m, 0, 1)")),
        &[0.0, 3.0, 1.0, 4.0, 2.0, 5.0],
        0.0,
    );
    assert_eq!(shape(&format!("{m} cat([m, m], 0)")), vec![4, 3]);
    assert_eq!(shape(&format!("{m} cat([m, m], 1)")), vec![2, 6]);
    close(
        &flat("cat([tensor([1]), tensor([2, 3])])"),
        &[1.0, 2.0, 3.0],
        0.0,
    );
    assert_eq!(shape(&format!("{m} stack([m, m, m], 1)")), vec![2, 3, 3]);
    close(
        &flat("stack([zeros(2), ones(2)])"),
        &[0.0, 0.0, 1.0, 1.0],
        0.0,
    );
    assert_eq!(shape("zeros([2, 3, 4]).flatten()"), vec![24]);
    assert_eq!(shape("zeros([2, 3, 4]).flatten(1)"), vec![2, 12]);
    assert_eq!(shape("zeros(3).unsqueeze(0)"), vec![1, 3]);
    assert_eq!(shape("zeros([1, 3, 1]).squeeze()"), vec![3]);
    assert_eq!(shape("zeros([1, 3, 1]).squeeze(2)"), vec![1, 3]);
    assert_eq!(num("zeros([2, 3]).numel()"), 6.0);
    assert_eq!(num("zeros([2, 3]).dim()"), 2.0);
    assert_eq!(num("zeros([2, 3]).len()"), 2.0);
    assert_eq!(
        shape("zeros([2, 3])"),
        run("zeros([2, 3]).shape()")
            .unwrap()
            .into_array()
            .unwrap()
            .iter()
            .map(|d| d.as_int().unwrap())
            .collect::<Vec<_>>()
    );
}

#[test]
fn indexing_and_slicing() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let m = "let m = arange(12).reshape([3, 4]);"; // m[i][j] = 4i + j
    close(&flat(&format!("{m} m[1]")), &[4.0, 5.0, 6.0, 7.0], 0.0);
    close(&flat(&format!("{m} m[-1]")), &[8.0, 9.0, 10.0, 11.0], 0.0);
    assert_eq!(num(&format!("{m} m[2][1].item()")), 9.0);
    close(&flat(&format!("{m} m.row(0)")), &[0.0, 1.0, 2.0, 3.0], 0.0);
    close(
        &flat(&format!("{m} m.slice(1, 1, 3)")),
        &[1.0, 2.0, 5.0, 6.0, 9.0, 10.0],
        0.0,
    );
    close(
        &flat(&format!("{m} m.slice(0, -2, 100)")),
        &(4..12).map(f64::from).collect::<Vec<_>>(),
        0.0,
    );
    close(
        &flat(&format!("{m} m.slice(1, 0, 4, 2)")),
        &[0.0, 2.0, 4.0, 6.0, 8.0, 10.0],
        0.0,
    );
    close(
        &flat(&format!("{m} m.select(1, -1)")),
        &[3.0, 7.0, 11.0],
        0.0,
    );
    close(
        &flat(&format!("{m} m.index(tensor([2, 0, 2]))")),
        &[
            8.0, 9.0, 10.0, 11.0, 0.0, 1.0, 2.0, 3.0, 8.0, 9.0, 10.0, 11.0,
        ],
        0.0,
    );
    close(
        &flat(&format!("{m} m.index([1])")),
        &[4.0, 5.0, 6.0, 7.0],
        0.0,
    );
    close(
        &flat(&format!("{m} m[argmax(m.sum(1))]")),
        &[8.0, 9.0, 10.0, 11.0],
        0.0,
    );
    // Assignment through the indexer rebinds only the assigned variable.
    close(
        &flat(&format!(
            "{m} let k = m; m[0] = -1; m[1][2] = 100; m.sum(1) * 1000 + k.sum(1)"
        )),
        &[-4000.0 + 6.0, 116_000.0 + 22.0, 38_000.0 + 38.0],
        0.0,
    );
}

#[test]
fn errors_are_located_and_do_not_panic() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    fails(
        "let a = 1;\nlet b = zeros([2, 3]) + zeros([4, 5]);",
        "2",
        &["size", "3", "5"],
    );
    fails(
        "let x = zeros([2, 3]);\nx.matmul(zeros([2, 3]))",
        "2",
        &["2x3"],
    );
    fails("tensor([1, 2]).item()", "1", &["item", "[2]"]);
    fails("let m = eye(3);\nm[3]", "2", &["index 3", "size 3"]);
    fails("eye(3)[-4]", "1", &["index -4"]);
    fails("tensor(1)[0]", "1", &["0-d", "item()"]);
    fails("zeros([2, -1])", "1", &["negative"]);
    fails("ones([2, 3]).reshape([4, 2])", "1", &["shape"]);
    fails("eye(3).select(0, 5)", "1", &["out of range"]);
    fails("eye(3).index(tensor([0, 7]))", "1", &["out of range"]);
    fails("eye(3).index(tensor([0.5]))", "1", &["whole"]);
    fails("cat([zeros([2, 2]), zeros([3, 3])], 0)", "1", &["size"]);
    fails("stack([])", "1", &["at least one"]);
    fails("tensor([[1, 2], [3]])", "1", &["ragged"]);
    fails("zeros(2, \"complex\")", "1", &["unknown dtype"]);
    fails("ones(2).sum(3)", "1", &["range"]);
    fails("let x = ones(2);\nx[5] = 1.0;", "2", &["index 5"]);
    fails("let x = ones([2, 2]);\nx[0] = ones(3);", "2", &["3"]);
    fails("\n   tensor([1, 2]) < tensor([1, 2, 3])", "2:19", &["size"]);
    if !telescope::tensor::cuda_available() {
        fails("zeros(2).cuda()", "1", &["CUDA is not available"]);
    }
}

#[test]
fn printing_is_readable() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let s = run("tensor([[1, 2], [3, 4]]).to_string()")
        .unwrap()
        .into_string()
        .unwrap();
    assert_eq!(
        s,
        "tensor([[1.0000, 2.0000], [3.0000, 4.0000]], shape=[2, 2], float64)"
    );
    let s = run("tensor(2.5).to_string()")
        .unwrap()
        .into_string()
        .unwrap();
    assert_eq!(s, "tensor(2.5000, shape=[], float64)");
    let s = run("`${tensor([1, 2], \"int64\")}`")
        .unwrap()
        .into_string()
        .unwrap();
    assert_eq!(s, "tensor([1, 2], shape=[2], int64)");
    let s = run("(tensor([1, 2]) * 1e-7).to_string()")
        .unwrap()
        .into_string()
        .unwrap();
    assert_eq!(s, "tensor([1.0000e-7, 2.0000e-7], shape=[2], float64)");
    // Large: abbreviated, first and last values kept.
    let s = run("arange(1000).to_string()")
        .unwrap()
        .into_string()
        .unwrap();
    assert!(
        s.contains("0.0000, 1.0000, 2.0000, ..., 997.0000, 998.0000, 999.0000"),
        "{s}"
    );
    assert!(s.contains("shape=[1000]") && s.len() < 200, "{s}");
    let s = run("arange(400).reshape([20, 20]).to_string()")
        .unwrap()
        .into_string()
        .unwrap();
    assert!(
        s.contains("...") && s.contains("399.0000") && s.lines().count() == 7,
        "{s}"
    );
    // Wide matrices print one row per line, aligned.
    let s = run("(arange(12) * 100 - 500).reshape([3, 4]).to_string()")
        .unwrap()
        .into_string()
        .unwrap();
    assert_eq!(s.lines().count(), 3, "{s}");
    assert!(
        s.lines().nth(1).unwrap().starts_with("        [-100.0000,"),
        "{s}"
    );
    // The REPL's printer uses the same text.
    let session = telescope::script::new_session(None);
    let v = run("eye(2)").unwrap();
    assert!(telescope::script::display_value(&session.engine, &v)
        .starts_with("tensor([[1.0000, 0.0000], [0.0000, 1.0000]]"));
}

#[test]
fn every_tensor_function_is_documented() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let docs = telescope::script::docs();
    let names = [
        "tensor",
        "zeros",
        "ones",
        "full",
        "randn",
        "rand",
        "linspace",
        "arange",
        "eye",
        "+",
        "-",
        "*",
        "/",
        "**",
        "==",
        "<",
        "pow",
        "sum",
        "Tensor.sum",
        "mean",
        "max",
        "min",
        "argmin",
        "argmax",
        "norm",
        "std",
        "variance",
        "exp",
        "Tensor.clamp",
        "matmul",
        "reshape",
        "transpose",
        "Tensor.t",
        "cat",
        "stack",
        "flatten",
        "unsqueeze",
        "squeeze",
        "Tensor.slice",
        "Tensor.select",
        "Tensor.index",
        "Tensor.row",
        "Tensor.[]",
        "Tensor.shape",
        "Tensor.item",
        "Tensor.to_array",
        "Tensor.cuda",
        "Tensor.to_dtype",
    ];
    for n in names {
        assert!(docs.get(n).is_some(), "{n} is not documented");
    }
    let entries: Vec<_> = docs.all().filter(|d| d.area == "tensor").collect();
    assert!(entries.len() > 60);
    for d in entries {
        assert!(
            !d.doc.trim().is_empty() && !d.signatures.is_empty(),
            "{} lacks a doc or signature",
            d.name
        );
    }
    // Methods are documented in method form.
    assert_eq!(
        docs.get("Tensor.sum").unwrap().signatures[1],
        "x.sum(dim: int) -> Tensor"
    );
}

#[test]
fn scripting_page_snippet_gives_what_its_comments_say() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let page =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/scripting.md")).unwrap();
    let code = page
        .split("```rhai")
        .nth(1)
        .and_then(|s| s.split("```").next())
        .expect("docs/scripting.md has a code block");
    let v = run(&format!("{code}\nx.to_array()"))
        .unwrap_or_else(|e| panic!("docs/scripting.md snippet: {e}"));
    assert_eq!(v.to_string(), "[[9.0, 9.0], [3.0, 4.0]]");
}

/// Runs only where CUDA is available (`make test` on a GPU machine).
#[test]
fn cuda_tensors_when_available() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !telescope::tensor::cuda_available() {
        return;
    }
    assert_eq!(
        run("ones(2).cuda().device").unwrap().into_string().unwrap(),
        "cuda:0"
    );
    let s = run("tensor([1, 2]).cuda().to_string()")
        .unwrap()
        .into_string()
        .unwrap();
    assert_eq!(s, "tensor([1.0000, 2.0000], shape=[2], float64, cuda:0)");
    close(
        &flat("let x = arange(4).cuda(); ((x * 2 + 1) ** 2).sum(0).cpu()"),
        &[1.0 + 9.0 + 25.0 + 49.0],
        0.0,
    );
    close(
        &flat("(tensor([1, 2]).cuda() + 1).to_array()"),
        &[2.0, 3.0],
        0.0,
    );
    assert_eq!(
        num("matmul(eye(3).cuda(), ones([3, 1]).cuda()).sum().item()"),
        3.0
    );
    fails("let x = ones(2).cuda();\nx + ones(2)", "2", &["device"]);
}
