//! Who may talk to the admin socket: root, the daemon's own user, and
//! members of the configured admin group. Checked with SO_PEERCRED, so the
//! socket's file mode is a first fence, not the only one.

use nix::unistd::{Gid, Group, Uid, User, getgrouplist};
use std::ffi::CString;

#[derive(Debug, Clone)]
pub struct AccessPolicy {
    own_uid: Uid,
    admin_gid: Option<Gid>,
}

#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error("admin group {0:?} does not exist")]
    NoSuchGroup(String),
    #[error("cannot look up admin group {group:?}: {source}")]
    Lookup {
        group: String,
        #[source]
        source: nix::Error,
    },
}

impl AccessPolicy {
    pub fn new(group: Option<&str>) -> Result<AccessPolicy, AccessError> {
        let admin_gid = match group {
            None => None,
            Some(g) => match Group::from_name(g) {
                Ok(Some(gr)) => Some(gr.gid),
                Ok(None) => return Err(AccessError::NoSuchGroup(g.to_string())),
                Err(source) => {
                    return Err(AccessError::Lookup {
                        group: g.to_string(),
                        source,
                    });
                }
            },
        };
        Ok(AccessPolicy {
            own_uid: nix::unistd::geteuid(),
            admin_gid,
        })
    }

    pub fn admin_gid(&self) -> Option<Gid> {
        self.admin_gid
    }

    /// `Ok` when the peer may use the socket, else the reason it may not.
    pub fn check(&self, uid: u32, gid: u32) -> Result<(), String> {
        let uid = Uid::from_raw(uid);
        if uid.is_root() || uid == self.own_uid {
            return Ok(());
        }
        if let Some(admin) = self.admin_gid {
            if Gid::from_raw(gid) == admin || member_of(uid, admin) {
                return Ok(());
            }
            return Err(format!(
                "uid {uid} is neither root, the daemon's user, nor in the admin group (gid {admin})"
            ));
        }
        Err(format!(
            "uid {uid} is neither root nor the daemon's user (no admin group is configured)"
        ))
    }
}

fn member_of(uid: Uid, gid: Gid) -> bool {
    let Ok(Some(user)) = User::from_uid(uid) else {
        return false;
    };
    let Ok(name) = CString::new(user.name) else {
        return false;
    };
    getgrouplist(&name, user.gid).is_ok_and(|groups| groups.contains(&gid))
}
