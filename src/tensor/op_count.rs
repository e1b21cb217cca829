//! How many libtorch operators a piece of code calls (the C shim `native/op_counter.cpp`, over
//! the RecordFunction observers torch.profiler uses). Every operator is a dispatch on the CPU
//! and at least one kernel launch on a GPU, so at small batch sizes the count, not the
//! arithmetic, sets the speed. Benchmarks count in one pass and time another: counting costs a
//! little per operator.

extern "C" {
    fn telescope_op_counter_start() -> std::ffi::c_int;
    fn telescope_op_counter_stop();
    fn telescope_op_counter_read(top: *mut u64, all: *mut u64);
}

/// Operators the calling thread called while a closure ran.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpCount {
    /// Operators called from outside any other operator: by telescope's code, or by autograd
    /// on its behalf (what a PyTorch script's line-by-line calls correspond to).
    pub top: u64,
    /// Every operator dispatched, the ones composite operators call inside included.
    pub all: u64,
}

fn read() -> OpCount {
    let (mut top, mut all) = (0u64, 0u64);
    // SAFETY: the shim writes two integers through valid pointers.
    unsafe { telescope_op_counter_read(&mut top, &mut all) };
    OpCount { top, all }
}

/// Runs `f` with operator counting on; its result and the operators it called on this thread
/// (other threads' operators do not count; none count when libtorch refused the observer).
pub fn count_ops<T>(f: impl FnOnce() -> T) -> (T, OpCount) {
    // SAFETY: plain C calls into the shim; it catches libtorch's exceptions.
    let on = unsafe { telescope_op_counter_start() } == 0;
    let before = read();
    let out = f();
    let after = read();
    if on {
        // SAFETY: as above.
        unsafe { telescope_op_counter_stop() };
    }
    let count = OpCount {
        top: after.top - before.top,
        all: after.all - before.all,
    };
    (out, count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Kind, Tensor};

    /// k elementwise additions are k top-level operators, whatever k; reading a count
    /// twice gives the same (nothing counted outside the closure).
    #[test]
    fn counts_each_call_once_at_the_top_level() {
        let a = Tensor::ones([4, 3], (Kind::Double, tch::Device::Cpu));
        for k in [1usize, 2, 7, 31] {
            let (_, n) = count_ops(|| {
                let mut x = a.shallow_clone();
                for _ in 0..k {
                    x = x.f_add(&a).unwrap();
                }
                x
            });
            assert_eq!(n.top, k as u64, "{k} additions");
            assert!(n.all >= n.top);
        }
        let (_, none) = count_ops(|| 1 + 1);
        assert_eq!(none, OpCount::default());
    }

    /// A composite operator (`nan_to_num` dispatches others inside) is one top-level call
    /// with more dispatched under it.
    #[test]
    fn nested_operators_count_in_all_but_not_in_top() {
        let a = Tensor::ones([8], (Kind::Double, tch::Device::Cpu));
        let (_, n) = count_ops(|| a.f_linalg_norm(2.0, None::<&[i64]>, false, None).unwrap());
        assert_eq!(n.top, 1);
        assert!(n.all > 1, "{n:?}");
    }
}
