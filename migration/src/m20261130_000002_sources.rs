//! Sources and signature schemes: which secret verified each event, the
//! conflict flag (an id replayed with another body), and the quarantine of
//! rejected requests.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one thing at a time.
        manager
            .alter_table(
                Table::alter()
                    .table(Events::Table)
                    .add_column(string_len_null(Events::SecretLabel, 64))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Events::Table)
                    .add_column(boolean(Events::Conflict).default(false))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Rejections::Table)
                    .if_not_exists()
                    .col(pk_uuid(Rejections::Id))
                    // As the request named it: possibly no configured source.
                    .col(string_len(Rejections::Source, 64))
                    .col(string_len(Rejections::Reason, 32))
                    .col(big_integer(Rejections::ReceivedAt))
                    .col(string_len_null(Rejections::RemoteAddr, 64))
                    .col(blob(Rejections::BodySha256))
                    .col(big_integer(Rejections::BodySize))
                    .col(text(Rejections::HeaderNames))
                    .to_owned(),
            )
            .await?;
        // Retention deletes by age.
        manager
            .create_index(
                Index::create()
                    .name("rejections_received_at")
                    .table(Rejections::Table)
                    .col(Rejections::ReceivedAt)
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Rejections::Table).to_owned())
            .await?;
        for column in [Events::Conflict, Events::SecretLabel] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Events::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Events {
    Table,
    SecretLabel,
    Conflict,
}

#[derive(DeriveIden)]
enum Rejections {
    Table,
    Id,
    Source,
    Reason,
    ReceivedAt,
    RemoteAddr,
    BodySha256,
    BodySize,
    HeaderNames,
}
