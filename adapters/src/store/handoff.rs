//! Claiming at intake: new events handed straight to this process's workers.
//!
//! A claim costs a row write of its own (status, lease, attempt count) on the
//! wide events row. When this process's workers have room, the ingest batch
//! writes a new event already claimed — `processing`, first attempt, leased
//! to this instance — and, once the batch has committed, hands the event
//! (whose body is still in memory) to the next claim of a worker. The claim
//! then costs no database work at all.
//!
//! Nothing is promised differently: a handed-off event is a claimed event,
//! fenced by its lease token and owned by this instance's liveness key, so a
//! crash is recovered exactly like a crash after a claim (a `lost` attempt,
//! taken over within seconds).
//!
//! Only events a claim could take are handed off — not those of FIFO sources
//! (the claim decides their order), of unconfigured sources, or of
//! destinations the workers' last claim skipped (paused, or with plenty
//! claimed already) — and only small ones (bodies up to 64 KiB: what waits
//! here stays small), and none while the instance does not hold its liveness
//! lock. At most `capacity` events (the workers' slots) wait here; the rest
//! of a burst is stored `pending` and claimed from the database as before,
//! and until a claim finds that backlog drained, new events queue behind it
//! so that the oldest still go first. Events still waiting here when the
//! process stops are given back to the queue uncharged.
//!
//! A batch that fails may still have committed (the reply was lost with the
//! connection); its claims at intake are then undone by the next claim, so
//! that an event that was written does not wait for its lease.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use application::ports::{ClaimedEvent, LeaseToken};
use domain::EventKey;

/// How long claims may be served from the handoff alone while the database
/// is not known to hold due events: retries coming due, other replicas' or
/// recovered events are found at least this often (or as soon as the handoff
/// runs short).
const LOOK_INTERVAL: Duration = Duration::from_secs(1);

#[derive(Debug, Default)]
pub(crate) struct Handoff {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Slots for waiting events; 0 while handing off is off.
    capacity: usize,
    /// How long a handed-off event's lease lasts.
    lease: Duration,
    /// `leased_by` of handed-off events (this instance, at intake).
    holder: Arc<str>,
    ready: VecDeque<Waiting>,
    /// Slots promised to batches being written.
    reserved: usize,
    /// Whether the database may hold due events that a claim should not
    /// leave behind for long.
    database_has_work: bool,
    last_database_look: Option<Instant>,
    /// The destinations the last claim skipped (paused, or with plenty
    /// claimed already): their new events are not handed off meanwhile.
    skipped: Arc<[String]>,
    /// Claims at intake for the next claim to undo: those of batches that
    /// failed (and may have committed), and give-backs that failed.
    to_give_back: Vec<Untried>,
}

/// A claim at intake to undo: the event, if it was written, goes back to
/// the queue uncharged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Untried {
    pub(crate) key: EventKey,
    pub(crate) lease: LeaseToken,
    /// When it was claimed. Once its lease is over there is nothing left to
    /// undo: it is recovered as a lost attempt.
    claimed: Instant,
}

impl Untried {
    fn of(waiting: &Waiting) -> Self {
        Self {
            key: waiting.event.key,
            lease: waiting.event.lease,
            claimed: waiting.since,
        }
    }
}

#[derive(Debug)]
struct Waiting {
    event: ClaimedEvent,
    since: Instant,
}

/// What a claim gets from the handoff, and how much it should still ask the
/// database for.
#[derive(Debug)]
pub(crate) struct Taken {
    pub(crate) events: Vec<ClaimedEvent>,
    /// Events to give back to the queue, where they wait as if they had
    /// never been handed off: those of destinations the claim skips (paused,
    /// or with plenty claimed already), any that waited here too long, and
    /// those of batches that failed.
    pub(crate) given_back: Vec<Untried>,
    pub(crate) from_database: u32,
}

/// Slots reserved for one ingest batch; those not filled are freed on drop.
#[derive(Debug)]
pub(crate) struct Reservation<'a> {
    handoff: &'a Handoff,
    slots: usize,
    pub(crate) lease: LeaseToken,
    pub(crate) lease_for: Duration,
    pub(crate) holder: Arc<str>,
}

impl Handoff {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Hands new events to claims from now on: at most `capacity` wait, each
    /// leased for `lease` to `holder`. A capacity of 0 turns it off.
    pub(crate) fn enable(&self, capacity: usize, lease: Duration, holder: &str) {
        let mut state = self.state();
        state.capacity = capacity;
        state.lease = lease;
        state.holder = holder.into();
        // Until a claim has looked, the queue may hold a backlog.
        state.database_has_work = true;
    }

    /// Reserves up to `wanted` slots for a batch of `batch` events about to
    /// be written. None while the database is known to hold due events:
    /// new events then queue behind them, so the oldest still go first.
    pub(crate) fn reserve(&self, wanted: usize, batch: usize) -> Reservation<'_> {
        let mut state = self.state();
        let free = if state.database_has_work {
            0
        } else {
            state
                .capacity
                .saturating_sub(state.ready.len() + state.reserved)
        };
        let slots = wanted.min(free);
        state.reserved += slots;
        if slots < batch {
            // The rest is stored `pending`: claims must look there.
            state.database_has_work = true;
        }
        Reservation {
            handoff: self,
            slots,
            lease: LeaseToken::generate(),
            lease_for: state.lease,
            holder: state.holder.clone(),
        }
    }

    /// Up to `limit` events for a claim, oldest first, and how many more the
    /// claim should take from the database: the rest of it when the handoff
    /// runs short and the database may hold due events (known to, or not
    /// looked at for [`LOOK_INTERVAL`]: retries coming due, other replicas'
    /// events), all of it when the handoff is empty.
    pub(crate) fn take(&self, limit: u32, skip: &[String], now: Instant) -> Taken {
        let mut state = self.state();
        if *state.skipped != *skip {
            state.skipped = skip.into();
        }
        // A worker renews its leases a third of a lease after it starts: an
        // event that waited here longer might expire first. It goes back to
        // the queue instead, as do those of destinations the claim skips.
        let stale_after = state.lease / 3;
        let (mut events, mut given_back) = (Vec::new(), Vec::new());
        while events.len() < limit as usize {
            let Some(waiting) = state.ready.pop_front() else {
                break;
            };
            if now.duration_since(waiting.since) >= stale_after {
                tracing::warn!(key = %waiting.event.key, "a handed-off event waited a third of its lease for a worker; it goes back to the queue");
                given_back.push(Untried::of(&waiting));
            } else if skip.contains(&waiting.event.source) {
                given_back.push(Untried::of(&waiting));
            } else {
                events.push(waiting.event);
            }
        }
        let lease = state.lease;
        given_back.extend(
            state
                .to_give_back
                .drain(..)
                .filter(|untried| now.duration_since(untried.claimed) < lease),
        );
        let taken = u32::try_from(events.len()).unwrap_or(limit);
        let look = events.is_empty()
            || state.database_has_work
            || state
                .last_database_look
                .is_none_or(|at| now.duration_since(at) >= LOOK_INTERVAL);
        let from_database = if look && taken < limit {
            state.last_database_look = Some(now);
            limit - taken
        } else {
            0
        };
        Taken {
            events,
            given_back,
            from_database,
        }
    }

    /// The sources whose new events are not to be handed off now.
    pub(crate) fn skipped_sources(&self) -> Arc<[String]> {
        self.state().skipped.clone()
    }

    /// What a claim found in the database: when it got all it asked for,
    /// more may be waiting there.
    pub(crate) fn database_looked(&self, asked: u32, got: usize) {
        self.state().database_has_work = got >= asked as usize;
    }

    /// Claims the next claim is to undo, after a give-back failed.
    pub(crate) fn give_back_later(&self, untried: Vec<Untried>) {
        self.state().to_give_back.extend(untried);
    }

    /// Turns handing off off and returns the events still waiting (and any
    /// claims left to undo), to be given back to the queue.
    pub(crate) fn close(&self) -> Vec<Untried> {
        let mut state = self.state();
        state.capacity = 0;
        let waiting: Vec<Untried> = state.ready.drain(..).map(|w| Untried::of(&w)).collect();
        let mut untried = std::mem::take(&mut state.to_give_back);
        untried.extend(waiting);
        untried
    }
}

impl Reservation<'_> {
    pub(crate) fn slots(&self) -> usize {
        self.slots
    }

    /// The batch committed: `events` (those of its reserved rows that were
    /// inserted) wait for a claim.
    pub(crate) fn fill(mut self, events: impl IntoIterator<Item = ClaimedEvent>) {
        let mut state = self.handoff.state();
        state.reserved -= self.slots;
        self.slots = 0;
        let since = Instant::now();
        if state.capacity == 0 {
            // Closed meanwhile (shutting down): these stay leased to this
            // instance and are recovered like any unfinished claim.
            return;
        }
        state
            .ready
            .extend(events.into_iter().map(|event| Waiting { event, since }));
    }

    /// The batch failed, perhaps after it committed: the claims of `keys`
    /// (its reserved rows) are undone by the next claim.
    pub(crate) fn undo(self, keys: impl IntoIterator<Item = EventKey>) {
        let claimed = Instant::now();
        let lease = self.lease;
        self.handoff
            .state()
            .to_give_back
            .extend(keys.into_iter().map(|key| Untried {
                key,
                lease,
                claimed,
            }));
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        if self.slots > 0 {
            self.handoff.state().reserved -= self.slots;
        }
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use chrono::Utc;
    use domain::EventKey;

    use super::*;

    fn event(lease: LeaseToken) -> ClaimedEvent {
        ClaimedEvent {
            key: EventKey::generate(),
            source: "s".into(),
            event_id: "e".into(),
            event_type: None,
            body: Bytes::new(),
            content_type: None,
            received_at: Utc::now(),
            attempt: 1,
            lease,
            request_id: None,
        }
    }

    /// Handing off, with the database found drained.
    fn enabled(capacity: usize) -> Handoff {
        let handoff = Handoff::default();
        handoff.enable(capacity, Duration::from_secs(300), "test/intake");
        handoff.database_looked(1, 0);
        handoff
    }

    #[test]
    fn nothing_is_reserved_while_off_nor_before_a_claim_found_the_queue_drained() {
        let handoff = Handoff::default();
        assert_eq!(handoff.reserve(5, 5).slots(), 0);
        handoff.enable(4, Duration::from_secs(300), "test/intake");
        assert_eq!(handoff.reserve(5, 5).slots(), 0);
        handoff.database_looked(4, 3);
        assert_eq!(handoff.reserve(5, 5).slots(), 4);
    }

    #[test]
    fn reservations_never_exceed_the_capacity_and_unused_slots_come_back() {
        let handoff = enabled(4);
        let first = handoff.reserve(3, 3);
        assert_eq!(first.slots(), 3);
        assert_eq!(handoff.reserve(3, 3).slots(), 1, "only one slot left");
        handoff.database_looked(2, 0);
        let lease = first.lease;
        first.fill([event(lease)]);
        // One waits, two came back.
        assert_eq!(handoff.reserve(10, 10).slots(), 3);
    }

    #[test]
    fn a_claim_takes_waiting_events_oldest_first_and_asks_the_database_for_the_rest() {
        let handoff = enabled(8);
        let reservation = handoff.reserve(2, 2);
        let (a, b) = (event(reservation.lease), event(reservation.lease));
        let keys = [a.key, b.key];
        reservation.fill([a, b]);
        let taken = handoff.take(4, &[], Instant::now());
        assert_eq!(taken.events.iter().map(|e| e.key).collect::<Vec<_>>(), keys);
        assert_eq!(taken.from_database, 2);
    }

    #[test]
    fn the_database_is_looked_at_when_the_handoff_is_empty_and_once_a_second_otherwise() {
        let handoff = enabled(16);
        let start = Instant::now();
        let after = |ms| start + Duration::from_millis(ms);
        assert_eq!(
            handoff.take(4, &[], after(0)).from_database,
            4,
            "nothing handed off"
        );
        handoff.database_looked(4, 0);
        let reservation = handoff.reserve(12, 12);
        let lease = reservation.lease;
        reservation.fill((0..12).map(|_| event(lease)));
        let taken = handoff.take(2, &[], after(10));
        assert_eq!((taken.events.len(), taken.from_database), (2, 0));
        let taken = handoff.take(4, &[], after(500));
        assert_eq!((taken.events.len(), taken.from_database), (4, 0));
        // A second after the last look, the rest of a claim looks again.
        let taken = handoff.take(4, &[], after(1000));
        assert_eq!(
            (taken.events.len(), taken.from_database),
            (4, 0),
            "a full claim needs no more"
        );
        let taken = handoff.take(3, &[], after(1000));
        assert_eq!((taken.events.len(), taken.from_database), (2, 1));
    }

    #[test]
    fn while_the_database_holds_due_events_new_ones_queue_behind_them() {
        let handoff = enabled(8);
        let reservation = handoff.reserve(6, 6);
        let lease = reservation.lease;
        reservation.fill((0..6).map(|_| event(lease)));
        // A batch of 4 found 2 free slots: 2 are stored pending.
        assert_eq!(handoff.reserve(4, 4).slots(), 2);
        // From then on nothing is handed off, and claims look in the database.
        assert_eq!(handoff.reserve(1, 1).slots(), 0);
        let now = Instant::now();
        let taken = handoff.take(4, &[], now);
        assert_eq!(
            (taken.events.len(), taken.from_database),
            (4, 0),
            "a full claim"
        );
        let taken = handoff.take(4, &[], now);
        assert_eq!((taken.events.len(), taken.from_database), (2, 2));
        // The database gave all it was asked for: more may wait there.
        handoff.database_looked(2, 2);
        assert_eq!(handoff.reserve(1, 1).slots(), 0);
        // It gave less: drained, new events are handed off again.
        handoff.database_looked(2, 1);
        assert_eq!(handoff.reserve(1, 1).slots(), 1);
    }

    #[test]
    fn an_event_that_waited_a_third_of_its_lease_goes_back_to_the_queue() {
        let handoff = enabled(8);
        let reservation = handoff.reserve(1, 1);
        let lease = reservation.lease;
        reservation.fill([event(lease)]);
        let taken = handoff.take(4, &[], Instant::now() + Duration::from_secs(100));
        assert!(taken.events.is_empty());
        assert_eq!(taken.given_back.len(), 1);
    }

    #[test]
    fn events_of_skipped_destinations_are_set_aside_for_the_queue() {
        let handoff = enabled(8);
        let reservation = handoff.reserve(3, 3);
        let lease = reservation.lease;
        let mut paused = event(lease);
        paused.source = "paused".into();
        let paused_key = paused.key;
        reservation.fill([event(lease), paused, event(lease)]);
        let taken = handoff.take(4, &["paused".to_owned()], Instant::now());
        assert_eq!(taken.events.len(), 2);
        assert_eq!(
            taken.given_back.iter().map(|u| u.key).collect::<Vec<_>>(),
            [paused_key]
        );
        // Until a claim no longer skips it, its new events are not handed off.
        assert_eq!(&*handoff.skipped_sources(), ["paused"]);
        handoff.take(4, &[], Instant::now());
        assert!(handoff.skipped_sources().is_empty());
    }

    #[test]
    fn closing_returns_the_waiting_events_and_refuses_new_ones() {
        let handoff = enabled(4);
        let reservation = handoff.reserve(1, 1);
        let lease = reservation.lease;
        reservation.fill([event(lease)]);
        let late = handoff.reserve(1, 1);
        assert_eq!(handoff.close().len(), 1);
        late.fill([event(lease)]);
        assert!(handoff.take(4, &[], Instant::now()).events.is_empty());
        assert_eq!(handoff.reserve(1, 1).slots(), 0);
    }

    #[test]
    fn the_claims_of_a_failed_batch_are_undone_by_the_next_claim_within_their_lease() {
        let handoff = enabled(8);
        let reservation = handoff.reserve(2, 2);
        let lease = reservation.lease;
        let keys = [EventKey::generate(), EventKey::generate()];
        reservation.undo(keys);
        // The slots are free again; the claims wait for a claim to undo them.
        assert_eq!(handoff.reserve(8, 8).slots(), 8);
        let taken = handoff.take(4, &[], Instant::now());
        assert!(taken.events.is_empty());
        assert_eq!(
            taken
                .given_back
                .iter()
                .map(|u| (u.key, u.lease))
                .collect::<Vec<_>>(),
            keys.map(|key| (key, lease))
        );
        // A give-back that failed is tried again by the next claim, until
        // the lease is over.
        handoff.give_back_later(taken.given_back);
        assert_eq!(handoff.take(4, &[], Instant::now()).given_back.len(), 2);
        assert!(handoff.take(4, &[], Instant::now()).given_back.is_empty());
        handoff.reserve(1, 1).undo([EventKey::generate()]);
        let after_lease = Instant::now() + Duration::from_secs(301);
        assert!(handoff.take(4, &[], after_lease).given_back.is_empty());
    }
}
