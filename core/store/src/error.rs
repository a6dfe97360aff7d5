use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database directory {dir} does not exist")]
    NoDirectory { dir: PathBuf },
    #[error("database directory {dir} is not writable by this process (uid {uid})")]
    DirectoryNotWritable { dir: PathBuf, uid: u32 },
    #[error(
        "{path} is not an SQLite database (or it is encrypted or badly damaged); refusing to touch it"
    )]
    NotADatabase { path: PathBuf },
    #[error(
        "{path} is an SQLite database but not a tocsin one (application_id {found:#x}); refusing to touch it"
    )]
    ForeignDatabase { path: PathBuf, found: i64 },
    #[error(
        "{path} has schema version {found}, newer than this tocsind understands ({supported}); upgrade tocsind or restore a backup"
    )]
    NewerSchema {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error("{path} failed its integrity check: {detail}")]
    Corrupt { path: PathBuf, detail: String },
    #[error("{path}: cannot enable WAL journaling (got {mode:?})")]
    NoWal { path: PathBuf, mode: String },
    #[error("migration to schema version {version} failed: {source}")]
    Migration {
        version: i64,
        #[source]
        source: rusqlite::Error,
    },
    #[error("{context}: {source}")]
    Sqlite {
        context: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

/// Adds a context line to rusqlite errors.
pub(crate) trait Ctx<T> {
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T, StoreError>;
}

impl<T> Ctx<T> for Result<T, rusqlite::Error> {
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T, StoreError> {
        self.map_err(|source| StoreError::Sqlite {
            context: context(),
            source,
        })
    }
}
