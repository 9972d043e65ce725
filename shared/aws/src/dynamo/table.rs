//! Creating the table (tests and first-time set-up; the SAM template declares the same).

use super::items::{GSI1, GSI2};
use artifact_monitor_core::ports::StoreError;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::client::Waiters as _;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType,
};

fn build<T>(built: Result<T, aws_sdk_dynamodb::error::BuildError>) -> Result<T, StoreError> {
    built.map_err(|e| StoreError::Corrupt(format!("DynamoDB request: {e}")))
}

fn attribute(name: &str) -> Result<AttributeDefinition, StoreError> {
    build(
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build(),
    )
}

fn key_part(name: &str, kind: KeyType) -> Result<KeySchemaElement, StoreError> {
    build(
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build(),
    )
}

fn index(name: &str, pk: &str, sk: &str) -> Result<GlobalSecondaryIndex, StoreError> {
    build(
        GlobalSecondaryIndex::builder()
            .index_name(name)
            .key_schema(key_part(pk, KeyType::Hash)?)
            .key_schema(key_part(sk, KeyType::Range)?)
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::All)
                    .build(),
            )
            .build(),
    )
}

/// Creates the single table with its two indexes, on demand, and waits until it is active.
pub async fn create_table(client: &Client, table: &str) -> Result<(), StoreError> {
    let mut request = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key_part("pk", KeyType::Hash)?)
        .key_schema(key_part("sk", KeyType::Range)?)
        .global_secondary_indexes(index(GSI1, "gsi1pk", "gsi1sk")?)
        .global_secondary_indexes(index(GSI2, "gsi2pk", "gsi2sk")?);
    for name in ["pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk"] {
        request = request.attribute_definitions(attribute(name)?);
    }
    request
        .send()
        .await
        .map_err(|e| StoreError::Unavailable(format!("DynamoDB: {}", DisplayErrorContext(&e))))?;
    client
        .wait_until_table_exists()
        .table_name(table)
        .wait(std::time::Duration::from_secs(60))
        .await
        .map_err(|e| StoreError::Unavailable(format!("DynamoDB: {}", DisplayErrorContext(&e))))?;
    Ok(())
}
