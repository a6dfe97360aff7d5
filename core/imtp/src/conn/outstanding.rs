//! Commands in flight, both directions.

use crate::id::Id;
use crate::method::Method;
use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

/// Commands we sent. Ids come from a counter; a number is never handed
/// out while a command with that id is unanswered (the draft's rule), and
/// because the map is ordered by number its first entry is the oldest
/// command, which drives the response timer.
#[derive(Debug, Default)]
pub(crate) struct Outgoing {
    next: u64,
    map: BTreeMap<u64, (Method, Instant)>,
}

impl Outgoing {
    /// The id the next command will get (not reserved until `commit`).
    pub(crate) fn next_id(&mut self) -> (u64, Id) {
        loop {
            self.next = self.next.wrapping_add(1);
            if self.next != 0 && !self.map.contains_key(&self.next) {
                return (self.next, Id::from_seq(self.next));
            }
        }
    }

    pub(crate) fn commit(&mut self, seq: u64, method: Method, now: Instant) {
        self.map.insert(seq, (method, now));
    }

    pub(crate) fn take(&mut self, id: &Id) -> Option<Method> {
        self.map.remove(&id.as_seq()?).map(|(m, _)| m)
    }

    pub(crate) fn oldest(&self) -> Option<(Id, Instant)> {
        self.map
            .first_key_value()
            .map(|(seq, (_, at))| (Id::from_seq(*seq), *at))
    }

    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    pub(crate) fn drain(&mut self) -> Vec<(Id, Method)> {
        std::mem::take(&mut self.map)
            .into_iter()
            .map(|(seq, (m, _))| (Id::from_seq(seq), m))
            .collect()
    }
}

/// Commands the peer sent that the host has not answered.
#[derive(Debug, Default)]
pub(crate) struct Incoming {
    map: HashMap<Id, Method>,
}

impl Incoming {
    pub(crate) fn contains(&self, id: &Id) -> bool {
        self.map.contains_key(id)
    }

    pub(crate) fn insert(&mut self, id: Id, method: Method) {
        self.map.insert(id, method);
    }

    pub(crate) fn get(&self, id: &Id) -> Option<&Method> {
        self.map.get(id)
    }

    pub(crate) fn remove(&mut self, id: &Id) -> Option<Method> {
        self.map.remove(id)
    }

    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }
}
