//! The embedded Model Registry: groups, versioned packages (idempotent by client token),
//! approval changes with their description and metadata, SageMaker's limits, and the
//! "SageMaker Model Package State Change" event on every change.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and examples may panic

use std::collections::BTreeMap;

use weighbridge_local::MemoryBackend;
use weighbridge_tasks::ports::{ApprovalStatus, ApprovalUpdate, ModelPackageRequest, PortError, Registry};

fn request(token: &str) -> ModelPackageRequest {
    ModelPackageRequest {
        group: "salary".into(),
        description: "trained on incoming/salary-batch-2.csv".into(),
        image: "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1".into(),
        model_data_url: "s3://data/models/wb-2/output/model.tar.gz".into(),
        content_types: vec!["text/csv".into()],
        approval: ApprovalStatus::PendingManualApproval,
        metadata: BTreeMap::from([("weighbridge:trainingJob".to_string(), "wb-2".to_string())]),
        client_token: token.into(),
    }
}

#[tokio::test]
async fn packages_are_versioned_approved_with_a_reason_and_announced() {
    let b = MemoryBackend::new();
    let missing = b.create_model_package(&request("t1")).await.unwrap_err();
    assert!(matches!(missing, PortError::Validation(m) if m.contains("does not exist")));
    b.create_group("salary", "the salary endpoint's candidates")
        .await
        .unwrap();
    let again = b.create_group("salary", "").await.unwrap_err();
    assert!(matches!(again, PortError::AlreadyExists(_)));

    let first = b.create_model_package(&request("t1")).await.unwrap();
    assert_eq!(
        b.create_model_package(&request("t1")).await.unwrap(),
        first,
        "same token, same package"
    );
    let second = b.create_model_package(&request("t2")).await.unwrap();
    assert_ne!(first, second);
    let described = b.describe_model_package(&second).await.unwrap();
    assert_eq!(
        (described.version, described.approval),
        (2, ApprovalStatus::PendingManualApproval)
    );
    assert_eq!(described.metadata["weighbridge:trainingJob"], "wb-2");

    b.update_approval(&ApprovalUpdate {
        arn: second.clone(),
        approval: ApprovalStatus::Approved,
        description: "promoted: RMSE 14.5 vs 63.4, improvement +48.9 [+47.8, +50.0]".into(),
        metadata: BTreeMap::from([("weighbridge:experiment".to_string(), "look-006".to_string())]),
    })
    .await
    .unwrap();
    let approved = b.describe_model_package(&second).await.unwrap();
    assert_eq!(approved.approval, ApprovalStatus::Approved);
    assert!(approved.approval_description.unwrap().starts_with("promoted"));
    assert_eq!(approved.metadata.len(), 2, "metadata merged");

    let events = b.events();
    assert_eq!(events.len(), 3, "two creations and an approval: {events:?}");
    let last = &events[2];
    assert_eq!(last["detail-type"], "SageMaker Model Package State Change");
    assert_eq!(last["detail"]["ModelApprovalStatus"], "Approved");
    assert_eq!(last["detail"]["ModelPackageArn"], second.as_str());
}

#[tokio::test]
async fn the_registry_refuses_what_sagemaker_refuses() {
    let b = MemoryBackend::new();
    b.create_group("salary", "").await.unwrap();
    let arn = b.create_model_package(&request("t1")).await.unwrap();
    let long = ApprovalUpdate {
        arn: arn.clone(),
        approval: ApprovalStatus::Rejected,
        description: "x".repeat(1025),
        metadata: BTreeMap::new(),
    };
    assert!(matches!(
        b.update_approval(&long).await,
        Err(PortError::Validation(_))
    ));
    let reserved = ApprovalUpdate {
        description: "rolled back".into(),
        metadata: BTreeMap::from([("aws:owner".to_string(), "me".to_string())]),
        ..long.clone()
    };
    assert!(matches!(
        b.update_approval(&reserved).await,
        Err(PortError::Validation(_))
    ));
    assert_eq!(
        b.describe_model_package(&arn).await.unwrap().approval,
        ApprovalStatus::PendingManualApproval,
        "a refused update changes nothing"
    );
    let unknown = b
        .describe_model_package("arn:aws:sagemaker:us-east-1:000000000000:model-package/salary/9")
        .await;
    assert!(matches!(unknown, Err(PortError::NotFound(_))));
}
