//! Parsing a submission into validated activity data, and what the data answers: its window, titles, search text.

use super::*;

impl ActivityData {
    /// Validates a submission against the code lists and rules, reporting every problem.
    pub fn parse(input: ActivitySubmission) -> Result<Self, Violations> {
        let mut v = Violations::default();

        let iati_identifier = check_identifier(&input.iati_identifier, "iatiIdentifier", &mut v);
        let reporting_org = check_org_ref(&input.reporting_org, "reportingOrg", &mut v);

        let titles = check_narratives(&input.titles, "titles", MAX_TITLE_LEN, &mut v);
        if input.titles.is_empty() {
            v.push("titles", "at least one title is required");
        }
        let descriptions = check_narratives(
            &input.descriptions,
            "descriptions",
            MAX_DESCRIPTION_LEN,
            &mut v,
        );

        let mut participating_orgs = Vec::with_capacity(input.participating_orgs.len());
        check_len(input.participating_orgs.len(), "participatingOrgs", &mut v);
        for (i, p) in input.participating_orgs.iter().enumerate() {
            let field = format!("participatingOrgs[{i}]");
            if let Some(org_ref) = check_org_ref(&p.org_ref, &format!("{field}.ref"), &mut v) {
                let activity_id = p
                    .activity_id
                    .as_deref()
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned);
                let entry = Participation {
                    org_ref,
                    role: p.role,
                    activity_id,
                };
                if !participating_orgs.contains(&entry) {
                    participating_orgs.push(entry);
                }
            }
        }

        let recipient_countries =
            check_countries(&input.recipient_countries, input.lenient, &mut v);
        let recipient_regions = check_regions(&input.recipient_regions, &mut v);
        // Imports take published shares as they are: the mapper reports sums that are off.
        if input.recipient_countries.is_empty()
            && input.recipient_regions.is_empty()
            && !input.lenient
        {
            v.push(
                "recipientCountries",
                "at least one recipient country (or region) is required",
            );
        }
        let sectors = check_sectors(&input.sectors, input.lenient, &mut v);

        let mut provisions = Vec::with_capacity(input.provisions.len());
        check_len(input.provisions.len(), "provisions", &mut v);
        for (i, p) in input.provisions.iter().enumerate() {
            match Provision::parse(p) {
                Ok(p) => provisions.push(p),
                Err(message) => v.push(format!("provisions[{i}]"), message),
            }
        }
        provisions.sort();
        provisions.dedup();

        let status = match input.status {
            Some(s) => Some(s),
            None => {
                v.push("status", "is required");
                None
            }
        };
        check_order(
            input.planned_start,
            input.planned_end,
            "plannedEnd",
            "plannedStart",
            &mut v,
        );
        check_order(
            input.actual_start,
            input.actual_end,
            "actualEnd",
            "actualStart",
            &mut v,
        );

        let budget = input
            .budget
            .as_ref()
            .and_then(|(amount, currency)| Money::parse(*amount, currency, "budget", &mut v));

        check_len_max(
            input.transactions.len(),
            if input.lenient {
                MAX_IMPORTED_LIST_LEN
            } else {
                MAX_LIST_LEN
            },
            "transactions",
            &mut v,
        );
        let mut transactions = Vec::with_capacity(input.transactions.len());
        for (i, t) in input.transactions.iter().enumerate() {
            let field = format!("transactions[{i}]");
            let kind = t.kind.trim();
            if TRANSACTION_TYPE.get(kind).is_none() {
                v.push(
                    format!("{field}.type"),
                    format!("unknown IATI transaction type `{kind}`"),
                );
            }
            let value = if input.lenient {
                Money::parse_signed(t.amount, &t.currency, &format!("{field}.value"), &mut v)
            } else {
                Money::parse(t.amount, &t.currency, &format!("{field}.value"), &mut v)
            };
            let provider = optional_identifier(
                t.provider_activity_id.as_deref(),
                &format!("{field}.providerActivityId"),
                &mut v,
            );
            let receiver = optional_identifier(
                t.receiver_activity_id.as_deref(),
                &format!("{field}.receiverActivityId"),
                &mut v,
            );
            if let Some(value) = value {
                transactions.push(Transaction {
                    kind: kind.to_owned(),
                    date: t.date,
                    value,
                    provider_activity_id: provider,
                    receiver_activity_id: receiver,
                });
            }
        }

        let list_max = if input.lenient {
            MAX_IMPORTED_LIST_LEN
        } else {
            MAX_LIST_LEN
        };
        check_len_max(
            input.related_activities.len(),
            list_max,
            "relatedActivities",
            &mut v,
        );
        let mut related_activities: Vec<RelatedActivity> = Vec::new();
        for (i, r) in input.related_activities.iter().enumerate() {
            let field = format!("relatedActivities[{i}].iatiIdentifier");
            if let Some(id) = check_identifier(&r.iati_identifier, &field, &mut v) {
                if Some(&id) == iati_identifier.as_ref() {
                    v.push(field, "an activity cannot be related to itself");
                } else {
                    let entry = RelatedActivity {
                        iati_identifier: id,
                        kind: r.kind,
                    };
                    if !related_activities.contains(&entry) {
                        related_activities.push(entry);
                    }
                }
            }
        }

        check_len(input.external_ids.len(), "externalIds", &mut v);
        let mut external_ids: Vec<String> = Vec::new();
        for (i, e) in input.external_ids.iter().enumerate() {
            if let Some(id) = check_identifier(e, &format!("externalIds[{i}]"), &mut v)
                && !external_ids.contains(&id)
            {
                external_ids.push(id);
            }
        }

        let no_need_link_reason = input
            .no_need_link_reason
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
        if no_need_link_reason
            .as_ref()
            .is_some_and(|r| r.chars().count() > MAX_TITLE_LEN)
        {
            v.push(
                "noNeedLinkReason",
                format!("must have at most {MAX_TITLE_LEN} characters"),
            );
        }

        if let Some(tied) = &input.paris.tied_status
            && TIED_STATUS.get(tied).is_none()
        {
            v.push(
                "paris.tiedStatus",
                format!("unknown IATI tied status `{tied}`"),
            );
        }

        if !input.lenient {
            if input.iati.planned_disbursements.len() > MAX_LIST_LEN {
                v.push(
                    "plannedDisbursements",
                    format!("must have at most {MAX_LIST_LEN} entries"),
                );
            }
            for (i, p) in input.iati.planned_disbursements.iter().enumerate() {
                let field = format!("plannedDisbursements[{i}]");
                if p.period_end < p.period_start {
                    v.push(
                        format!("{field}.periodEnd"),
                        "must not be before periodStart",
                    );
                }
                Money::parse(
                    p.value.amount,
                    &p.value.currency,
                    &format!("{field}.value"),
                    &mut v,
                );
            }
        }

        let (Some(iati_identifier), Some(reporting_org), Some(status)) =
            (iati_identifier, reporting_org, status)
        else {
            return Err(v);
        };
        v.into_result(ActivityData(ActivityFields {
            iati_identifier,
            reporting_org,
            titles,
            descriptions,
            participating_orgs,
            recipient_countries,
            recipient_regions,
            sectors,
            priority_areas: sorted_set(&input.priority_areas),
            provisions,
            assistance_types: sorted_set(&input.assistance_types),
            beneficiary_institutions: sorted_set(&input.beneficiary_institutions),
            status,
            planned_start: input.planned_start,
            planned_end: input.planned_end,
            actual_start: input.actual_start,
            actual_end: input.actual_end,
            budget,
            transactions,
            related_activities,
            external_ids,
            no_need_link_reason,
            paris: input.paris,
            iati: input.iati,
        }))
    }

    /// The title in `lang`, else English, else the first one.
    pub fn title(&self, lang: Option<&str>) -> &str {
        pick_narrative(&self.titles, lang).unwrap_or_default()
    }

    /// The description in `lang`, else English, else the first one.
    pub fn description(&self, lang: Option<&str>) -> Option<&str> {
        pick_narrative(&self.descriptions, lang)
    }

    /// The effective window of DESIGN.md §4: `[actual ?? planned start, actual ?? planned end ??
    /// start + 365 days]`; `None` without a start or when the end falls before the start.
    pub fn window(&self) -> Option<Window> {
        let start = self.actual_start.or(self.planned_start)?;
        let end = match self.actual_end.or(self.planned_end) {
            Some(end) => end,
            None => start.checked_add_days(Days::new(365))?,
        };
        (end >= start).then_some(Window { start, end })
    }

    /// Lower-cased title and description text in every language, for plain text search.
    pub fn search_text(&self) -> String {
        let mut text = String::new();
        for n in self.titles.iter().chain(&self.descriptions) {
            text.push_str(&n.text.to_lowercase());
            text.push('\n');
        }
        text
    }
}
