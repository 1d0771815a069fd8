//! A FIFO of work for a pool of threads, optionally bounded, that can be closed.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard};

/// A FIFO of work for a pool of threads, optionally bounded.
pub(super) struct WorkQueue<T> {
    state: Mutex<QueueState<T>>,
    ready: Condvar,
    capacity: usize,
}

struct QueueState<T> {
    items: VecDeque<T>,
    closed: bool,
}

/// Why an item was not queued.
pub(super) enum PushError {
    /// The queue holds `capacity` items.
    Full,
    /// The queue is closed.
    Closed,
}

impl<T> WorkQueue<T> {
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            state: Mutex::new(QueueState {
                items: VecDeque::new(),
                closed: false,
            }),
            ready: Condvar::new(),
            capacity,
        }
    }

    fn lock(&self) -> MutexGuard<'_, QueueState<T>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn push(&self, item: T) -> Result<(), (PushError, T)> {
        let mut s = self.lock();
        if s.closed {
            return Err((PushError::Closed, item));
        }
        if s.items.len() >= self.capacity {
            return Err((PushError::Full, item));
        }
        s.items.push_back(item);
        drop(s);
        self.ready.notify_one();
        Ok(())
    }

    /// The next item; `None` once the queue is closed and empty.
    pub(super) fn pop(&self) -> Option<T> {
        let mut s = self.lock();
        loop {
            if let Some(item) = s.items.pop_front() {
                return Some(item);
            }
            if s.closed {
                return None;
            }
            s = self.ready.wait(s).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Closes the queue; with `take`, the items still waiting are removed and returned, otherwise
    /// the threads go on until it is empty.
    pub(super) fn close(&self, take: bool) -> Vec<T> {
        let mut s = self.lock();
        s.closed = true;
        let left = if take {
            s.items.drain(..).collect()
        } else {
            Vec::new()
        };
        drop(s);
        self.ready.notify_all();
        left
    }

    pub(super) fn len(&self) -> usize {
        self.lock().items.len()
    }
}
