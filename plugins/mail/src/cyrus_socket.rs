//! Cyrus notifyd datagrams. Cyrus sends and forgets: there is no acknowledgement and no
//! retry, so whatever is dropped here (unparsable, refused, or stored-failed) is gone.
//! Every drop is counted and logged (rate-limited) with its reason.

use crate::http_service::suppressed_note;
use crate::plugin::{MailSource, Origin, Pending};
use crate::prepare::{Prepared, prepare};
use std::time::Instant;
use tocsin_mailevents::SourceFormat;
use tocsin_sdk::CommitResult;

/// Events from datagrams waiting for their commit. Beyond this the store is not keeping
/// up and further datagrams are dropped (counted) rather than queued without bound.
const MAX_PENDING_DATAGRAMS: usize = 10_000;

impl MailSource {
    pub(crate) fn datagram(&mut self, data: &[u8]) {
        self.stats.datagrams += 1;
        match prepare(&self.settings, SourceFormat::CyrusNotify, data) {
            Ok(Prepared::Emit(ev)) => {
                if self.pending_datagrams >= MAX_PENDING_DATAGRAMS {
                    self.drop_datagram(data.len(), "too many events waiting for the store");
                    return;
                }
                let token = self.token();
                match self.host.emit(&ev, token) {
                    Ok(()) => {
                        self.pending_datagrams += 1;
                        self.pending.insert(
                            token,
                            Pending {
                                origin: Origin::Datagram,
                                key: ev.source_event_id,
                            },
                        );
                    }
                    Err(e) => {
                        self.drop_datagram(data.len(), &format!("ingest refused the event: {e}"))
                    }
                }
            }
            Ok(Prepared::Ignored { event, skip }) => {
                self.stats.ignored += 1;
                log::debug!("Cyrus {event} ignored: {}", skip.reason());
            }
            Err(r) => self.drop_datagram(data.len(), &format!("{} ({})", r, r.code())),
        }
    }

    fn drop_datagram(&mut self, len: usize, why: &str) {
        self.stats.datagrams_dropped += 1;
        if let Some(s) = self.input_log.allow(Instant::now()) {
            log::warn!(
                "dropped Cyrus datagram of {len} bytes: {why}; {} dropped so far{}",
                self.stats.datagrams_dropped,
                suppressed_note(s)
            );
        }
    }

    pub(crate) fn datagram_committed(&mut self, key: &str, result: &CommitResult) {
        match result {
            CommitResult::Stored { .. } | CommitResult::Duplicate { .. } => {
                log::debug!("Cyrus event {key}: {result:?}");
            }
            CommitResult::Rejected { .. } | CommitResult::Failed { .. } => {
                self.stats.datagrams_lost += 1;
                log::error!(
                    "Cyrus event {key} lost ({result:?}); {} lost so far",
                    self.stats.datagrams_lost
                );
            }
        }
    }
}
