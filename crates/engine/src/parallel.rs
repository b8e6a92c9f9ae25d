//! Work split over two threads: a request waits on scoring in a crowded country, and the
//! other core is otherwise idle while it runs.

/// Runs `work` over `items`, from `split` items on in two halves, the second on a thread of
/// its own, and joins the halves' results in order with `join`. A request waits on such work
/// in a crowded country, and the other core is otherwise idle while it runs.
pub fn in_halves<T: Sync, R: Send>(
    items: &[T],
    split: usize,
    work: impl Fn(&[T]) -> R + Sync,
    join: impl FnOnce(R, R) -> R,
) -> R {
    if items.len() < split.max(2) {
        return work(items);
    }
    let (first, second) = items.split_at(items.len() / 2);
    let work = &work;
    std::thread::scope(|scope| {
        let other = std::thread::Builder::new()
            .name("aidgraph-half".into())
            .spawn_scoped(scope, move || work(second));
        let done = work(first);
        let rest = match other {
            Ok(handle) => match handle.join() {
                Ok(rest) => rest,
                Err(panic) => std::panic::resume_unwind(panic),
            },
            // No thread to be had: this one does the rest.
            Err(_) => work(second),
        };
        join(done, rest)
    })
}
