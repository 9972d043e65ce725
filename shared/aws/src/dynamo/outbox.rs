//! The alert outbox on DynamoDB: alert items kept forever, listed through GSI2 `OUTBOX`
//! until delivered, claimed while a drain sends them.

use super::items::{GSI2, Item, OUTBOX, alert_pk, key, n, num, read_doc, s};
use super::*;

fn outbox_entry(item: &Item) -> Result<OutboxEntry, StoreError> {
    Ok(OutboxEntry {
        alert: read_doc(item)?,
        enqueued_at: num(item, "enqueued_at").unwrap_or(0),
        printed: matches!(item.get("printed"), Some(AttributeValue::Bool(true))),
        attempts: num(item, "attempts").unwrap_or(0),
        last_error: match item.get("last_error") {
            Some(AttributeValue::S(e)) => Some(e.clone()),
            _ => None,
        },
        claimed_until: num(item, "claimed_until"),
    })
}

impl Outbox for DynamoStore {
    async fn enqueue(&self, alert: &Alert, now: i64) -> Result<bool, StoreError> {
        use aws_sdk_dynamodb::operation::put_item::PutItemError;
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(Self::alert_item(alert, now)?))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        condition_held(result, PutItemError::is_conditional_check_failed_exception)
    }

    async fn outbox(&self, limit: usize) -> Result<Vec<OutboxEntry>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let values = HashMap::from([(":p".to_owned(), s(OUTBOX))]);
        self.query_all(Some(GSI2), "gsi2pk = :p", values, Some(limit))
            .await?
            .iter()
            .map(outbox_entry)
            .collect()
    }

    async fn claim(&self, id: &str, now: i64, until: i64) -> Result<bool, StoreError> {
        use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(alert_pk(id), "ALERT")))
            .update_expression("SET claimed_until = :until")
            .condition_expression(
                "attribute_exists(gsi2pk) AND (attribute_not_exists(claimed_until) OR claimed_until <= :now)",
            )
            .expression_attribute_values(":until", n(until))
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        condition_held(
            result,
            UpdateItemError::is_conditional_check_failed_exception,
        )
    }

    async fn mark_printed(&self, id: &str) -> Result<(), StoreError> {
        self.update_alert(
            id,
            "SET printed = :t",
            vec![(":t", AttributeValue::Bool(true))],
        )
        .await
    }

    async fn mark_failed(&self, id: &str, error: &str) -> Result<(), StoreError> {
        self.update_alert(
            id,
            "SET last_error = :e ADD attempts :one REMOVE claimed_until",
            vec![(":e", s(error)), (":one", n(1))],
        )
        .await
    }

    async fn mark_delivered(&self, id: &str) -> Result<(), StoreError> {
        // The item stays: its id is the memory that the alert was enqueued, ever.
        self.update_alert(
            id,
            "SET delivered = :t REMOVE gsi2pk, gsi2sk, claimed_until",
            vec![(":t", AttributeValue::Bool(true))],
        )
        .await
    }
}

impl DynamoStore {
    /// Updates an undelivered alert; an unknown or delivered one is left alone.
    async fn update_alert(
        &self,
        id: &str,
        expression: &str,
        values: Vec<(&str, AttributeValue)>,
    ) -> Result<(), StoreError> {
        use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(alert_pk(id), "ALERT")))
            .update_expression(expression)
            .condition_expression("attribute_exists(gsi2pk)");
        for (name, value) in values {
            request = request.expression_attribute_values(name, value);
        }
        condition_held(
            request.send().await,
            UpdateItemError::is_conditional_check_failed_exception,
        )
        .map(|_| ())
    }
}
