//! Versioned schema, embedded in the binary and applied at start for both backends.
//! A migration is never edited once released: add a new version instead.

use super::{Backend, StoreError};
use sqlx::{AnyPool, Row};

struct Migration {
    version: i64,
    sqlite: &'static str,
    postgres: &'static str,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        sqlite: "
        CREATE TABLE calls (
            call_sid TEXT PRIMARY KEY,
            state TEXT NOT NULL,
            seq INTEGER NOT NULL,
            last_reply TEXT,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        );
        CREATE INDEX calls_updated_at ON calls (updated_at);
        CREATE TABLE geocodes (
            key TEXT PRIMARY KEY,
            result TEXT NOT NULL,
            created_at INTEGER NOT NULL
        );
        CREATE TABLE reservations (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            client_code TEXT NOT NULL UNIQUE,
            call_sid TEXT NOT NULL,
            request TEXT NOT NULL,
            status TEXT NOT NULL,
            outcome TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at INTEGER NOT NULL,
            claimed_until INTEGER NOT NULL DEFAULT 0,
            claim_token TEXT,
            last_error TEXT,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        );
        CREATE INDEX reservations_due ON reservations (status, next_attempt_at);
    ",
        postgres: "
        CREATE TABLE calls (
            call_sid TEXT PRIMARY KEY,
            state TEXT NOT NULL,
            seq BIGINT NOT NULL,
            last_reply TEXT,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL
        );
        CREATE INDEX calls_updated_at ON calls (updated_at);
        CREATE TABLE geocodes (
            key TEXT PRIMARY KEY,
            result TEXT NOT NULL,
            created_at BIGINT NOT NULL
        );
        CREATE TABLE reservations (
            id BIGSERIAL PRIMARY KEY,
            client_code TEXT NOT NULL UNIQUE,
            call_sid TEXT NOT NULL,
            request TEXT NOT NULL,
            status TEXT NOT NULL,
            outcome TEXT,
            attempts BIGINT NOT NULL DEFAULT 0,
            next_attempt_at BIGINT NOT NULL,
            claimed_until BIGINT NOT NULL DEFAULT 0,
            claim_token TEXT,
            last_error TEXT,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL
        );
        CREATE INDEX reservations_due ON reservations (status, next_attempt_at);
    ",
    },
    // Protocol numbers: a counter per day shared by every instance, and the
    // protocol of each ledger row for look-ups.
    Migration {
        version: 2,
        sqlite: "
        CREATE TABLE protocol_counters (day TEXT PRIMARY KEY, last INTEGER NOT NULL);
        ALTER TABLE reservations ADD COLUMN protocol TEXT;
        CREATE INDEX reservations_protocol ON reservations (protocol);
    ",
        postgres: "
        CREATE TABLE protocol_counters (day TEXT PRIMARY KEY, last BIGINT NOT NULL);
        ALTER TABLE reservations ADD COLUMN protocol TEXT;
        CREATE INDEX reservations_protocol ON reservations (protocol);
    ",
    },
    // The SMS outbox: one message per outcome of a ledger row, written in the
    // transaction that records the outcome, sent by the SMS sender.
    Migration {
        version: 3,
        sqlite: "
        CREATE TABLE messages (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            reservation_id INTEGER NOT NULL REFERENCES reservations (id),
            kind TEXT NOT NULL,
            phone TEXT NOT NULL,
            body TEXT NOT NULL,
            status TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at INTEGER NOT NULL,
            claimed_until INTEGER NOT NULL DEFAULT 0,
            claim_token TEXT,
            last_error TEXT,
            provider_id TEXT,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            UNIQUE (reservation_id, kind)
        );
        CREATE INDEX messages_due ON messages (status, next_attempt_at);
    ",
        postgres: "
        CREATE TABLE messages (
            id BIGSERIAL PRIMARY KEY,
            reservation_id BIGINT NOT NULL REFERENCES reservations (id),
            kind TEXT NOT NULL,
            phone TEXT NOT NULL,
            body TEXT NOT NULL,
            status TEXT NOT NULL,
            attempts BIGINT NOT NULL DEFAULT 0,
            next_attempt_at BIGINT NOT NULL,
            claimed_until BIGINT NOT NULL DEFAULT 0,
            claim_token TEXT,
            last_error TEXT,
            provider_id TEXT,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL,
            UNIQUE (reservation_id, kind)
        );
        CREATE INDEX messages_due ON messages (status, next_attempt_at);
    ",
    },
    // Webhook signatures already accepted (Telnyx does not sign the URL: each
    // signature is accepted once, across instances), until they expire.
    Migration {
        version: 4,
        sqlite: "
        CREATE TABLE seen_signatures (key TEXT PRIMARY KEY, expires_at INTEGER NOT NULL);
        CREATE INDEX seen_signatures_expiry ON seen_signatures (expires_at);
    ",
        postgres: "
        CREATE TABLE seen_signatures (key TEXT PRIMARY KEY, expires_at BIGINT NOT NULL);
        CREATE INDEX seen_signatures_expiry ON seen_signatures (expires_at);
    ",
    },
    // The WhatsApp channel: the message ids already taken in (a notification
    // delivered twice moves the conversation once), and the outbox of replies,
    // written with the conversation state they answer, sent by the WhatsApp
    // sender in order per client.
    Migration {
        version: 5,
        sqlite: "
        CREATE TABLE whatsapp_inbound (message_id TEXT PRIMARY KEY, created_at INTEGER NOT NULL);
        CREATE INDEX whatsapp_inbound_created ON whatsapp_inbound (created_at);
        CREATE TABLE whatsapp_outbox (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            wa_id TEXT NOT NULL,
            payload TEXT NOT NULL,
            status TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at INTEGER NOT NULL,
            claimed_until INTEGER NOT NULL DEFAULT 0,
            claim_token TEXT,
            last_error TEXT,
            provider_id TEXT,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        );
        CREATE INDEX whatsapp_outbox_due ON whatsapp_outbox (status, next_attempt_at);
        CREATE INDEX whatsapp_outbox_wa_id ON whatsapp_outbox (wa_id, status)
    ",
        postgres: "
        CREATE TABLE whatsapp_inbound (message_id TEXT PRIMARY KEY, created_at BIGINT NOT NULL);
        CREATE INDEX whatsapp_inbound_created ON whatsapp_inbound (created_at);
        CREATE TABLE whatsapp_outbox (
            id BIGSERIAL PRIMARY KEY,
            wa_id TEXT NOT NULL,
            payload TEXT NOT NULL,
            status TEXT NOT NULL,
            attempts BIGINT NOT NULL DEFAULT 0,
            next_attempt_at BIGINT NOT NULL,
            claimed_until BIGINT NOT NULL DEFAULT 0,
            claim_token TEXT,
            last_error TEXT,
            provider_id TEXT,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL
        );
        CREATE INDEX whatsapp_outbox_due ON whatsapp_outbox (status, next_attempt_at);
        CREATE INDEX whatsapp_outbox_wa_id ON whatsapp_outbox (wa_id, status)
    ",
    },
    // The operators' console: the steps each call reached (`,ask_code,…,`), its
    // current step, the last question it was at, how its reservation ended and
    // when the platform said it ended, written with the call's state (no
    // personal data in these columns); and the console's sessions (the SHA-256
    // of the cookie, never the cookie itself). Version 6: main's WhatsApp
    // channel (issue 13) holds version 5.
    Migration {
        version: 6,
        sqlite: "
        ALTER TABLE calls ADD COLUMN steps TEXT NOT NULL DEFAULT '';
        ALTER TABLE calls ADD COLUMN step TEXT;
        ALTER TABLE calls ADD COLUMN last_question TEXT;
        ALTER TABLE calls ADD COLUMN outcome TEXT;
        ALTER TABLE calls ADD COLUMN ended_at INTEGER;
        CREATE INDEX calls_created_at ON calls (created_at);
        CREATE TABLE console_sessions (
            id TEXT PRIMARY KEY,
            csrf TEXT NOT NULL,
            expires_at INTEGER NOT NULL
        );
    ",
        postgres: "
        ALTER TABLE calls ADD COLUMN steps TEXT NOT NULL DEFAULT '';
        ALTER TABLE calls ADD COLUMN step TEXT;
        ALTER TABLE calls ADD COLUMN last_question TEXT;
        ALTER TABLE calls ADD COLUMN outcome TEXT;
        ALTER TABLE calls ADD COLUMN ended_at BIGINT;
        CREATE INDEX calls_created_at ON calls (created_at);
        CREATE TABLE console_sessions (
            id TEXT PRIMARY KEY,
            csrf TEXT NOT NULL,
            expires_at BIGINT NOT NULL
        );
    ",
    },
    // The WhatsApp inbox: each message of a signed notification, kept before
    // the notification is answered `200` (idempotent by the message id; `id`
    // is the order of arrival), taken in by the processor in order per client.
    // `content` is the message as parsed (personal data): cleared when the
    // message is processed, in the transaction that moves the conversation.
    // Version 8 is reserved for another change.
    Migration {
        version: 7,
        sqlite: "
        CREATE TABLE whatsapp_inbox (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            message_id TEXT NOT NULL UNIQUE,
            wa_id TEXT NOT NULL,
            content TEXT,
            status TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at INTEGER NOT NULL,
            claimed_until INTEGER NOT NULL DEFAULT 0,
            claim_token TEXT,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        );
        CREATE INDEX whatsapp_inbox_due ON whatsapp_inbox (status, wa_id, id);
        CREATE INDEX whatsapp_inbox_created ON whatsapp_inbox (created_at)
    ",
        postgres: "
        CREATE TABLE whatsapp_inbox (
            id BIGSERIAL PRIMARY KEY,
            message_id TEXT NOT NULL UNIQUE,
            wa_id TEXT NOT NULL,
            content TEXT,
            status TEXT NOT NULL,
            attempts BIGINT NOT NULL DEFAULT 0,
            next_attempt_at BIGINT NOT NULL,
            claimed_until BIGINT NOT NULL DEFAULT 0,
            claim_token TEXT,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL
        );
        CREATE INDEX whatsapp_inbox_due ON whatsapp_inbox (status, wa_id, id);
        CREATE INDEX whatsapp_inbox_created ON whatsapp_inbox (created_at)
    ",
    },
    // A Telnyx signature is kept with the URL it was first used at (the SHA-256
    // of the URL, in hex): a platform's retry at that URL is accepted again,
    // the same signature at another URL is not. Version 9 (8 is the
    // outboxes'). Rows from before have no URL: only expiry frees
    // them.
    Migration {
        version: 9,
        sqlite: "
        ALTER TABLE seen_signatures ADD COLUMN url TEXT NOT NULL DEFAULT ''
    ",
        postgres: "
        ALTER TABLE seen_signatures ADD COLUMN url TEXT NOT NULL DEFAULT ''
    ",
    },
    // Exactly once whatever OZmap's speed: `uncertain_since` is the time of a
    // property POST whose answer is not known (written before it is sent,
    // cleared when OZmap refuses it or the row finishes): nothing is POSTed
    // again until a look-up OZMAP_COMMIT_WAIT_MS after it has found nothing.
    // `recheck_at`: a finished row to look at again (a copy of its property
    // that OZmap committed late, a box name not read yet); `duplicates_removed`:
    // the ids of the copies deleted in OZmap (a JSON array), for operators.
    Migration {
        version: 10,
        sqlite: "
        ALTER TABLE reservations ADD COLUMN uncertain_since INTEGER;
        ALTER TABLE reservations ADD COLUMN recheck_at INTEGER;
        ALTER TABLE reservations ADD COLUMN duplicates_removed TEXT;
        CREATE INDEX reservations_recheck ON reservations (recheck_at) WHERE recheck_at IS NOT NULL
    ",
        postgres: "
        ALTER TABLE reservations ADD COLUMN uncertain_since BIGINT;
        ALTER TABLE reservations ADD COLUMN recheck_at BIGINT;
        ALTER TABLE reservations ADD COLUMN duplicates_removed TEXT;
        CREATE INDEX reservations_recheck ON reservations (recheck_at) WHERE recheck_at IS NOT NULL
    ",
    },
    // Each console session records which `IVR_ADMIN_TOKEN` opened it (an
    // HMAC of the session's id keyed with the token, never the token): a
    // session opened with another token opens nothing. Sessions from before
    // have none, and end.
    Migration {
        version: 11,
        sqlite: "
        ALTER TABLE console_sessions ADD COLUMN token_fp TEXT NOT NULL DEFAULT ''
    ",
        postgres: "
        ALTER TABLE console_sessions ADD COLUMN token_fp TEXT NOT NULL DEFAULT ''
    ",
    },
    // Data subjects (LGPD art. 18, `ozmap-ivr privacy`): a ledger row whose
    // personal data was erased on request (`erased_at`; its protocol and OZmap
    // ids stay), the audit of each erasure (a keyed hash of the subject, never
    // the number or the code in clear) and the random key of that hash.
    Migration {
        version: 12,
        sqlite: "
        ALTER TABLE reservations ADD COLUMN erased_at INTEGER;
        CREATE TABLE privacy_audit (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at INTEGER NOT NULL,
            action TEXT NOT NULL,
            subject_hash TEXT NOT NULL,
            summary TEXT NOT NULL
        );
        CREATE TABLE privacy_key (id INTEGER PRIMARY KEY, secret TEXT NOT NULL)
    ",
        postgres: "
        ALTER TABLE reservations ADD COLUMN erased_at BIGINT;
        CREATE TABLE privacy_audit (
            id BIGSERIAL PRIMARY KEY,
            at BIGINT NOT NULL,
            action TEXT NOT NULL,
            subject_hash TEXT NOT NULL,
            summary TEXT NOT NULL
        );
        CREATE TABLE privacy_key (id BIGINT PRIMARY KEY, secret TEXT NOT NULL)
    ",
    },
    // The technicians' agenda (`store::visits`): one visit per request's
    // protocol, and per day and period the places booked against its capacity.
    // A visit's row is also the outbox of its booking in an ERP (`erp_*`).
    Migration {
        version: 13,
        sqlite: "
        CREATE TABLE visits (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            protocol TEXT NOT NULL UNIQUE,
            reservation_id INTEGER,
            client_code TEXT NOT NULL,
            day TEXT NOT NULL,
            period TEXT NOT NULL,
            status TEXT NOT NULL,
            erp_status TEXT NOT NULL,
            erp_ref TEXT,
            erp_attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at INTEGER NOT NULL,
            claimed_until INTEGER NOT NULL DEFAULT 0,
            claim_token TEXT,
            last_error TEXT,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        );
        CREATE INDEX visits_day ON visits (day, period);
        CREATE INDEX visits_erp_due ON visits (erp_status, next_attempt_at);
        CREATE TABLE visit_periods (
            day TEXT NOT NULL,
            period TEXT NOT NULL,
            booked INTEGER NOT NULL,
            capacity INTEGER NOT NULL,
            PRIMARY KEY (day, period)
        )
    ",
        postgres: "
        CREATE TABLE visits (
            id BIGSERIAL PRIMARY KEY,
            protocol TEXT NOT NULL UNIQUE,
            reservation_id BIGINT,
            client_code TEXT NOT NULL,
            day TEXT NOT NULL,
            period TEXT NOT NULL,
            status TEXT NOT NULL,
            erp_status TEXT NOT NULL,
            erp_ref TEXT,
            erp_attempts BIGINT NOT NULL DEFAULT 0,
            next_attempt_at BIGINT NOT NULL,
            claimed_until BIGINT NOT NULL DEFAULT 0,
            claim_token TEXT,
            last_error TEXT,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL
        );
        CREATE INDEX visits_day ON visits (day, period);
        CREATE INDEX visits_erp_due ON visits (erp_status, next_attempt_at);
        CREATE TABLE visit_periods (
            day TEXT NOT NULL,
            period TEXT NOT NULL,
            booked BIGINT NOT NULL,
            capacity BIGINT NOT NULL,
            PRIMARY KEY (day, period)
        )
    ",
    },
    // The reservation's life (`store::life`): when the port was reserved, a
    // row installed (the client implanted in OZmap, `implanted_at`) or
    // released (the property deleted after `IVR_RESERVATION_DAYS`, or at an
    // operator's word), and the worker's job on it (due, attempts, error,
    // dead letter). Rows done before it count from their creation.
    Migration {
        version: 14,
        sqlite: "
        ALTER TABLE reservations ADD COLUMN reserved_at INTEGER;
        UPDATE reservations SET reserved_at = created_at WHERE status = 'done';
        ALTER TABLE reservations ADD COLUMN installed_at INTEGER;
        ALTER TABLE reservations ADD COLUMN implanted_at INTEGER;
        ALTER TABLE reservations ADD COLUMN released_at INTEGER;
        ALTER TABLE reservations ADD COLUMN release_asked_at INTEGER;
        ALTER TABLE reservations ADD COLUMN life_due_at INTEGER;
        ALTER TABLE reservations ADD COLUMN life_attempts INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE reservations ADD COLUMN life_error TEXT;
        ALTER TABLE reservations ADD COLUMN life_dead_at INTEGER;
        CREATE INDEX reservations_life ON reservations (status, reserved_at)
    ",
        postgres: "
        ALTER TABLE reservations ADD COLUMN reserved_at BIGINT;
        UPDATE reservations SET reserved_at = created_at WHERE status = 'done';
        ALTER TABLE reservations ADD COLUMN installed_at BIGINT;
        ALTER TABLE reservations ADD COLUMN implanted_at BIGINT;
        ALTER TABLE reservations ADD COLUMN released_at BIGINT;
        ALTER TABLE reservations ADD COLUMN release_asked_at BIGINT;
        ALTER TABLE reservations ADD COLUMN life_due_at BIGINT;
        ALTER TABLE reservations ADD COLUMN life_attempts BIGINT NOT NULL DEFAULT 0;
        ALTER TABLE reservations ADD COLUMN life_error TEXT;
        ALTER TABLE reservations ADD COLUMN life_dead_at BIGINT;
        CREATE INDEX reservations_life ON reservations (status, reserved_at)
    ",
    },
    // The links by SMS where a caller marks the house (`location`, issue 26):
    // the SHA-256 of each token (never the token: a leaked database opens no
    // live link), the session it belongs to, its expiry, and once used the
    // position sent with it (JSON: coordinates, accuracy, nearest address).
    Migration {
        version: 15,
        sqlite: "
        CREATE TABLE location_links (
            token_hash TEXT PRIMARY KEY,
            session_key TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL,
            used_at INTEGER,
            position TEXT
        );
        CREATE INDEX location_links_session ON location_links (session_key, used_at);
        CREATE INDEX location_links_expiry ON location_links (expires_at)
    ",
        postgres: "
        CREATE TABLE location_links (
            token_hash TEXT PRIMARY KEY,
            session_key TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL,
            used_at BIGINT,
            position TEXT
        );
        CREATE INDEX location_links_session ON location_links (session_key, used_at);
        CREATE INDEX location_links_expiry ON location_links (expires_at)
    ",
    },
];

pub(super) async fn migrate(pool: &AnyPool, backend: Backend) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    if backend == Backend::Postgres {
        // Several instances may start together: one migrates, the others wait.
        sqlx::query("SELECT pg_advisory_xact_lock(7305916402)")
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT PRIMARY KEY)")
        .execute(&mut *tx)
        .await?;
    let current: i64 = sqlx::query("SELECT COALESCE(MAX(version), 0) AS v FROM schema_version")
        .fetch_one(&mut *tx)
        .await?
        .try_get("v")?;
    for m in MIGRATIONS.iter().filter(|m| m.version > current) {
        let sql = match backend {
            Backend::Sqlite => m.sqlite,
            Backend::Postgres => m.postgres,
        };
        for stmt in sql.split(';').map(str::trim).filter(|s| !s.is_empty()) {
            sqlx::query(stmt).execute(&mut *tx).await?;
        }
        sqlx::query("INSERT INTO schema_version (version) VALUES ($1)")
            .bind(m.version)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The schema's version in a database and the binary's latest, read without
/// changing anything (`ozmap-ivr check`): a SQLite file is opened read-only,
/// and `None` when the file does not exist yet (`serve` creates it).
pub(crate) async fn schema_versions(url: &str) -> Result<Option<(i64, i64)>, StoreError> {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let latest = MIGRATIONS.last().map_or(0, |m| m.version);
    let url = if let Some(rest) = url.strip_prefix("sqlite:") {
        let (path, _) = rest.split_once('?').unwrap_or((rest, ""));
        let path = path.strip_prefix("//").unwrap_or(path);
        if path.contains(":memory:") || !std::path::Path::new(path).exists() {
            return Ok(None);
        }
        format!(
            "sqlite:{rest}{}mode=ro",
            if rest.contains('?') { "&" } else { "?" }
        )
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        url.to_string()
    } else {
        return Err(StoreError::UnsupportedUrl);
    };
    let mut conn = sqlx::AnyConnection::connect(&url).await?;
    let tables: i64 = match url.starts_with("sqlite:") {
        true => sqlx::query(
            "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'",
        ),
        false => sqlx::query(
            "SELECT COUNT(*) AS n FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name = 'schema_version'",
        ),
    }
    .fetch_one(&mut conn)
    .await?
    .try_get("n")?;
    let current: i64 = match tables {
        0 => 0,
        _ => sqlx::query("SELECT COALESCE(MAX(version), 0) AS v FROM schema_version")
            .fetch_one(&mut conn)
            .await?
            .try_get("v")?,
    };
    let _ = conn.close().await;
    Ok(Some((current, latest)))
}
