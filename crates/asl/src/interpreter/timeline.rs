//! Virtual time for concurrent branches: a discrete-event schedule. A Wait state or a
//! Retry interval does not move the shared clock itself (that would make the waits of
//! two Parallel branches add up); it goes to sleep until a wake-up time. When every
//! branch is asleep and no Task call is in flight, [`Timeline::drive`] moves the clock to
//! the earliest wake-up time and wakes that sleeper — so the waits of side-by-side
//! branches and Map iterations overlap, as they do on AWS, and a run stays repeatable
//! (equal wake-up times wake in the order they went to sleep). A Task waiting for its
//! task token parks: when nothing but parked tasks is left, the run pauses.

use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};

use chrono::{DateTime, Duration, Utc};

use super::Clock;

/// The sleepers of one run and the Task calls in flight.
#[derive(Debug, Default)]
pub(super) struct Timeline {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    next_id: u64,
    /// Who sleeps until when (ordered by time, then by when they went to sleep).
    sleeping: BTreeMap<(DateTime<Utc>, u64), Option<Waker>>,
    /// Sleepers whose time has come and that have not yet noticed.
    woken: HashSet<u64>,
    /// Task calls started and not yet answered: real work (an SDK call, a file) the
    /// clock must not jump over.
    in_flight: usize,
}

impl Timeline {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Sleeps for `by` of the run's time.
    pub(super) fn sleep<'a>(&'a self, clock: &'a dyn Clock, by: Duration) -> Sleep<'a> {
        Sleep {
            timeline: self,
            clock,
            by,
            key: None,
        }
    }

    /// Marks a Task call in flight until the returned guard drops.
    pub(super) fn calling(&self) -> InFlight<'_> {
        self.lock().in_flight += 1;
        InFlight(self)
    }

    /// Waits for ever: a task whose token is not answered yet (the run pauses when
    /// nothing else can go on; answering the token runs it again from its journal).
    pub(super) fn park<T>(&self) -> impl Future<Output = T> {
        std::future::pending()
    }

    /// Runs `work` to the end, moving `clock` to the next wake-up time whenever all of it
    /// sleeps; `None` when it cannot go on until a task token is answered.
    pub(super) async fn drive<F: Future>(&self, clock: &dyn Clock, work: F) -> Option<F::Output> {
        let mut work = pin!(work);
        std::future::poll_fn(move |cx| loop {
            if let Poll::Ready(out) = work.as_mut().poll(cx) {
                return Poll::Ready(Some(out));
            }
            if self.lock().in_flight > 0 {
                // A Task call's completion wakes us.
                return Poll::Pending;
            }
            if !self.wake_earliest(clock) {
                // Nothing sleeps and nothing is in flight: only parked tasks are left.
                return Poll::Ready(None);
            }
        })
        .await
    }

    /// Moves the clock to the earliest sleeper's time and wakes it; false when a call is
    /// in flight or nobody sleeps.
    fn wake_earliest(&self, clock: &dyn Clock) -> bool {
        let mut inner = self.lock();
        if inner.in_flight > 0 {
            return false;
        }
        let Some(((at, id), waker)) = inner.sleeping.pop_first() else {
            return false;
        };
        inner.woken.insert(id);
        drop(inner);
        let now = clock.now();
        if at > now {
            clock.advance(at - now);
        }
        if let Some(w) = waker {
            w.wake();
        }
        true
    }
}

/// A Task call in flight (see [`Timeline::calling`]).
pub(super) struct InFlight<'a>(&'a Timeline);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.lock().in_flight -= 1;
    }
}

/// The future of [`Timeline::sleep`].
pub(super) struct Sleep<'a> {
    timeline: &'a Timeline,
    clock: &'a dyn Clock,
    by: Duration,
    key: Option<(DateTime<Utc>, u64)>,
}

impl Future for Sleep<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut inner = self.timeline.lock();
        let Some(key) = self.key else {
            if self.by <= Duration::zero() {
                return Poll::Ready(());
            }
            let id = inner.next_id;
            inner.next_id += 1;
            let key = (self.clock.now() + self.by, id);
            inner.sleeping.insert(key, Some(cx.waker().clone()));
            drop(inner);
            self.key = Some(key);
            return Poll::Pending;
        };
        if inner.woken.remove(&key.1) {
            drop(inner);
            self.key = None;
            self.by = Duration::zero();
            return Poll::Ready(());
        }
        inner.sleeping.insert(key, Some(cx.waker().clone()));
        Poll::Pending
    }
}

impl Drop for Sleep<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key {
            let mut inner = self.timeline.lock();
            inner.sleeping.remove(&key);
            inner.woken.remove(&key.1);
        }
    }
}
