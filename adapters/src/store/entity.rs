//! SeaORM entities. They never leave `adapters`: the store converts them to
//! domain and application types at its edge.

pub mod events {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "events")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub source: String,
        pub event_id: String,
        pub event_type: Option<String>,
        pub payload: Vec<u8>,
        pub payload_sha256: Vec<u8>,
        pub content_type: Option<String>,
        /// Microseconds since the Unix epoch, as every timestamp here.
        pub received_at: i64,
        pub status: String,
        pub attempts: i32,
        pub next_attempt_at: i64,
        pub lease_token: Option<Uuid>,
        pub leased_by: Option<String>,
        pub processed_at: Option<i64>,
        pub last_error: Option<String>,
        pub secret_label: Option<String>,
        pub request_id: Option<String>,
        pub conflict: bool,
        /// The claiming instance's liveness key.
        pub lease_owner: Option<i64>,
        /// When the current attempt was claimed.
        pub claimed_at: Option<i64>,
        /// Queue position for FIFO sources (insert, or replay: to the back).
        pub seq: i64,
        /// The source deduplicates by body: `(source, payload_sha256)` is unique.
        pub dedupe_body: bool,
        /// The worker whose attempt succeeded, when the success is recorded
        /// here (its start being `claimed_at`) rather than in `event_attempts`.
        pub succeeded_by: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod event_attempts {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "event_attempts")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub event_key: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub attempt: i32,
        pub worker: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub started_at: i64,
        pub finished_at: i64,
        pub outcome: String,
        pub error: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The view of every attempt: the rows of `event_attempts` and the
/// successes recorded on their events. Read only.
pub mod attempt_history {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "attempt_history")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub event_key: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub attempt: i32,
        pub worker: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub started_at: i64,
        pub finished_at: i64,
        pub outcome: String,
        pub error: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod rejections {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "rejections")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub source: String,
        pub reason: String,
        pub received_at: i64,
        pub remote_addr: Option<String>,
        pub body_sha256: Vec<u8>,
        pub body_size: i64,
        /// Lower-case names, comma-separated (names cannot contain commas).
        pub header_names: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
