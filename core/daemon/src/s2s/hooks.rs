//! The daemon's calls into ingest: each lends ingest the batch, the store
//! and the appliance id for the duration of the call.

use super::Ctx;
use crate::daemon::Daemon;
use mio::Token;

impl Daemon {
    pub(crate) fn s2s_ready(&mut self, token: Token, readable: bool, writable: bool) {
        let Daemon {
            s2s,
            batch,
            store,
            appliance_id,
            ..
        } = self;
        let mut cx = Ctx {
            batch,
            store,
            appliance_id,
        };
        s2s.ready(token, readable, writable, &mut cx);
    }

    /// Once per iteration, after the commit: ACKs out, held-back input in.
    pub(crate) fn s2s_after_commit(&mut self) {
        let Daemon {
            s2s,
            batch,
            store,
            appliance_id,
            timers,
            ..
        } = self;
        let mut cx = Ctx {
            batch,
            store,
            appliance_id,
        };
        s2s.after_commit(&mut cx, timers);
    }

    pub(crate) fn s2s_timer(&mut self) {
        let Daemon {
            s2s,
            batch,
            store,
            appliance_id,
            ..
        } = self;
        let mut cx = Ctx {
            batch,
            store,
            appliance_id,
        };
        s2s.timer(&mut cx);
    }

    pub(crate) fn s2s_begin_shutdown(&mut self) {
        let Daemon {
            s2s,
            batch,
            store,
            appliance_id,
            ..
        } = self;
        let mut cx = Ctx {
            batch,
            store,
            appliance_id,
        };
        s2s.begin_shutdown(&mut cx);
    }
}
