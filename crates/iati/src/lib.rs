//! aidgraph's IATI support: a streaming reader for `iati-activities` files (2.01–2.03 and the
//! legacy 1.0x forms), an upgrade of 1.0x activities to 2.03 terms, a mapping of each
//! activity into the registry's domain, and a writer of IATI 2.03 XML. Pure of storage:
//! callers decide what to do with each activity.

pub mod map;
pub mod reader;
pub mod schema;
pub mod upgrade;
pub mod writer;

pub use map::{MappedActivity, SeenOrganisation, map_activity};
pub use reader::{Element, IatiReader, ReadError};
