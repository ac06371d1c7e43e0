//! A fixed set of workers (ONNX Runtime sessions, whose `run` takes `&mut self`), each behind a mutex, and a
//! way to spread batches over them.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

use crate::Result;

/// Workers of type `W`, one thread each while a call runs.
#[derive(Debug)]
pub(crate) struct Pool<W> {
    workers: Vec<Mutex<W>>,
    next: AtomicUsize,
}

impl<W: Send> Pool<W> {
    pub(crate) fn new(workers: Vec<W>) -> Pool<W> {
        Pool {
            workers: workers.into_iter().map(Mutex::new).collect(),
            next: AtomicUsize::new(0),
        }
    }

    /// Runs `f(worker, i)` for every batch `i` in `0..batches` and returns the results in order. With one
    /// worker (or one batch) it runs on the calling thread; otherwise on one scoped thread per worker, each
    /// taking the next batch until none is left. The first error is returned.
    pub(crate) fn map<R: Send>(&self, batches: usize, f: impl Fn(&mut W, usize) -> Result<R> + Sync) -> Result<Vec<R>> {
        let threads = self.workers.len().min(batches);
        if threads <= 1 {
            // Round-robin the starting worker so that concurrent single-batch callers spread out.
            let first = self.next.fetch_add(1, Ordering::Relaxed) % self.workers.len().max(1);
            let Some(worker) = self.workers.get(first) else {
                return Ok(Vec::new());
            };
            let mut worker = worker.lock().unwrap_or_else(PoisonError::into_inner);
            return (0..batches).map(|i| f(&mut worker, i)).collect();
        }
        let next = AtomicUsize::new(0);
        let slots: Vec<Mutex<Option<R>>> = (0..batches).map(|_| Mutex::new(None)).collect();
        std::thread::scope(|scope| -> Result<()> {
            let handles: Vec<_> = self.workers[..threads]
                .iter()
                .map(|worker| {
                    let (next, slots, f) = (&next, &slots, &f);
                    scope.spawn(move || -> Result<()> {
                        let mut worker = worker.lock().unwrap_or_else(PoisonError::into_inner);
                        loop {
                            let i = next.fetch_add(1, Ordering::Relaxed);
                            if i >= batches {
                                return Ok(());
                            }
                            let out = f(&mut worker, i)?;
                            *slots[i].lock().unwrap_or_else(PoisonError::into_inner) = Some(out);
                        }
                    })
                })
                .collect();
            let mut first_error = Ok(());
            for handle in handles {
                match handle.join() {
                    Ok(result) => {
                        if first_error.is_ok() {
                            first_error = result;
                        }
                    }
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
            first_error
        })?;
        Ok(slots
            .into_iter()
            .filter_map(|s| s.into_inner().unwrap_or_else(PoisonError::into_inner))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_back_in_order() {
        for workers in [1, 3] {
            let pool = Pool::new(vec![0usize; workers]);
            let out = pool
                .map(10, |w, i| {
                    *w += 1;
                    Ok(i * 2)
                })
                .unwrap();
            assert_eq!(out, (0..10).map(|i| i * 2).collect::<Vec<_>>());
            let total: usize = pool.workers.iter().map(|w| *w.lock().unwrap()).sum();
            assert_eq!(total, 10);
        }
    }

    #[test]
    fn the_first_error_is_returned() {
        let pool = Pool::new(vec![(); 2]);
        let out: Result<Vec<()>> = pool.map(5, |_, i| {
            if i == 3 {
                Err(crate::Error::InvalidOption(format!("batch {i}")))
            } else {
                Ok(())
            }
        });
        assert!(out.unwrap_err().to_string().contains("batch 3"));
    }
}
