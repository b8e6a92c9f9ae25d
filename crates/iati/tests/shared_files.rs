//! Every IATI file in `../shared/data/iati/activities` (real publishers' data and the IATI
//! examples, some synthetic) reads and maps; skipped activities come with reasons. Skips with a
//! message when the shared data is absent.

use aidgraph_iati::map_activity;
use aidgraph_iati::reader::IatiReader;
use std::path::PathBuf;

fn shared_dir() -> Option<PathBuf> {
    let dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/iati/activities");
    dir.is_dir().then_some(dir)
}

#[tokio::test]
async fn every_shared_file_reads_and_maps() {
    let Some(dir) = shared_dir() else {
        eprintln!("skipped: ../shared/data/iati/activities is not present");
        return;
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.sort();
    for path in files {
        let file = tokio::fs::File::open(&path)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let mut reader = IatiReader::new(tokio::io::BufReader::new(file));
        let (mut read, mut mapped) = (0, 0);
        let mut reasons = Vec::new();
        while let Some(raw) = reader
            .next_activity()
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        {
            read += 1;
            match map_activity(&raw.element) {
                Ok(_) => mapped += 1,
                Err(e) => reasons.push(format!(
                    "line {}: {} — {}",
                    raw.line, e.identifier, e.reason
                )),
            }
        }
        println!(
            "{}: version {}, read {read}, mapped {mapped}, skipped {}",
            path.file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default(),
            reader.version,
            reasons.len()
        );
        for r in reasons.iter().take(5) {
            println!("    {r}");
        }
        assert!(read > 0, "{} has no activity", path.display());
        assert_eq!(read, mapped + reasons.len());
    }
}
