//! The state directory: a second process sees what the first created.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and examples may panic

use std::time::Duration;
use weighbridge_asl::interpreter::Clock;
use weighbridge_local::demo::{
    demo_backend, run_demo, AlarmRollbackReport, DemoConfig, LookReport, Observer, RetrainReport, BUCKET,
    ENDPOINT,
};

use weighbridge_local::store::{Access, StateDir};
use weighbridge_tasks::ports::{ObjectStore, PortError, PutCondition, Runtime, SageMaker};

struct Quiet;
impl Observer for Quiet {
    fn phase(&mut self, _: &str) {}
    fn retrained(&mut self, _: &RetrainReport) {}
    fn looked(&mut self, _: &LookReport) {}
    fn alarm_rolled_back(&mut self, _: &AlarmRollbackReport) {}
}

#[tokio::test]
async fn a_saved_backend_reopens_with_its_endpoint_objects_etags_and_clock() {
    let dir = std::env::temp_dir().join(format!("weighbridge-store-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = StateDir::new(&dir);
    let first = demo_backend(1);
    run_demo(&first, &DemoConfig::default(), &mut Quiet)
        .await
        .unwrap();
    let lock = store.lock(Access::Write, "test", Duration::from_secs(5)).unwrap();
    store.save(&lock, &first).unwrap();

    let second = store.open(&lock, 1).unwrap();
    assert_eq!(second.clock().now(), first.clock().now());
    assert_eq!(second.endpoint(ENDPOINT), first.endpoint(ENDPOINT));
    let listed = second.list_objects(BUCKET, "").await.unwrap();
    assert_eq!(listed, first.list_objects(BUCKET, "").await.unwrap());
    assert!(listed.iter().any(|o| o.key.ends_with("model.tar.gz")));
    // Conditional puts compare the persisted ETags.
    let record = listed.iter().find(|o| o.key.contains("_experiment/")).unwrap();
    let stale = second
        .put_object(
            BUCKET,
            &record.key,
            b"{}".to_vec(),
            PutCondition::IfMatch("\"old\"".into()),
        )
        .await;
    assert!(
        matches!(stale, Err(PortError::PreconditionFailed(_))),
        "{stale:?}"
    );
    second
        .put_object(
            BUCKET,
            &record.key,
            b"{}".to_vec(),
            PutCondition::IfMatch(record.etag.clone()),
        )
        .await
        .unwrap();
    // The reopened endpoint still serves the trained model from its model.tar.gz.
    let live = second.describe_endpoint(ENDPOINT).await.unwrap();
    let answer = second
        .invoke_endpoint(&weighbridge_tasks::ports::InvokeRequest {
            endpoint: ENDPOINT.into(),
            body: b"60,0.5\n".to_vec(),
            content_type: "text/csv".into(),
            accept: None,
            target_variant: Some(live.variants[0].name.clone()),
            target_model: None,
            inference_id: None,
        })
        .await
        .unwrap();
    assert!(!answer.body.is_empty());
    let missing = StateDir::new(dir.join("missing"));
    let nothing = missing
        .lock(Access::Read, "test", Duration::from_secs(5))
        .unwrap();
    assert!(missing.open(&nothing, 1).unwrap().endpoint(ENDPOINT).is_none());
    std::fs::remove_dir_all(&dir).unwrap();
}
