//! 随手拍 points: a case reported by a resident volunteer pays the district's `case_reported` rule
//! once when it closes, inside the closing transaction (registered with the case loop as a hook).

use uuid::Uuid;

use super::{rules, store as points};
use crate::audit::Actor;
use crate::cases::hooks::{HookFuture, OnClosed};
use crate::cases::store::CaseRow;
use crate::db::Tx;
use crate::on_tx;

pub struct PayCaseReported;

impl OnClosed for PayCaseReported {
    fn closed<'a>(&'a self, tx: &'a mut Tx, actor: Actor<'a>, c: &'a CaseRow) -> HookFuture<'a> {
        Box::pin(async move {
            let Some(reporter) = c.reporter_id else {
                return Ok(());
            };
            // A merged duplicate's reporter is told of the outcome, but the points go with the case kept.
            if c.merged_into.is_some() {
                return Ok(());
            }
            let volunteer: Option<Uuid> = on_tx!(&mut *tx, |x| sqlx::query_scalar(
                "SELECT id FROM volunteers WHERE user_id = $1 AND district = $2"
            )
            .bind(reporter)
            .bind(&c.district)
            .fetch_optional(x)
            .await)?;
            if let Some(v) = volunteer {
                let amount = points::rule_points_in_tx(tx, &c.district, rules::CASE_REPORTED).await?;
                let (id, key) = (c.id.to_string(), format!("case:{}", c.id));
                points::award_in(tx, &actor, &c.district, v, rules::CASE_REPORTED, amount, ("case", &id), Some(&key)).await?;
            }
            Ok(())
        })
    }
}
