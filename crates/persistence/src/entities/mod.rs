//! sea-orm entities: one per table, mirroring the migrations. They are storage rows, not API
//! types; repositories map them to domain records.

pub mod activity;
pub mod activity_country;
pub mod activity_need;
pub mod activity_participant;
pub mod activity_related;
pub mod activity_sector;
pub mod activity_tag;
pub mod audit_entry;
pub mod candidate_window;
pub mod contribution;
pub mod coordination_edge;
pub mod coordination_mechanism;
pub mod evaluation;
pub mod evaluation_activity;
pub mod exchange_rate;
pub mod iati_source;
pub mod joint_work;
pub mod joint_work_organisation;
pub mod mechanism_country;
pub mod mechanism_link;
pub mod mechanism_member;
pub mod need;
pub mod need_provision;
pub mod needs_analysis;
pub mod organisation;
pub mod outbox_event;
pub mod overlap_flag;
pub mod overlap_flag_country;
pub mod term_df;
