//! Buffers each thread keeps from one scan to the next, so that a scan reuses what the last
//! one on its thread grew instead of allocating its own.

use std::cell::RefCell;
use std::thread::LocalKey;

/// The most bytes of heap a thread keeps in one such value between scans: a larger text's
/// buffers are freed after its scan.
pub(crate) const MAX_KEPT_BYTES: usize = 1 << 20;

/// Calls `f` with the thread's value in `key`, taken out for the call (a call inside `f`, or
/// on a thread that is ending, gets a new value) and put back unless `size` says it holds
/// more than [`MAX_KEPT_BYTES`].
pub(crate) fn with_kept<T: Default, R>(
    key: &'static LocalKey<RefCell<T>>,
    size: impl FnOnce(&T) -> usize,
    f: impl FnOnce(&mut T) -> R,
) -> R {
    let take = |cell: &RefCell<T>| {
        cell.try_borrow_mut()
            .map(|mut v| std::mem::take(&mut *v))
            .unwrap_or_default()
    };
    let mut value = key.try_with(take).unwrap_or_default();
    let out = f(&mut value);
    if size(&value) <= MAX_KEPT_BYTES {
        let _ = key.try_with(|cell| {
            if let Ok(mut v) = cell.try_borrow_mut() {
                *v = value;
            }
        });
    }
    out
}
