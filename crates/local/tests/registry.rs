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

mod gate {
    use serde_json::json;
    use weighbridge_local::MemoryBackend;
    use weighbridge_tasks::evaluate_model::{evaluate_model, EvaluateModelInput};
    use weighbridge_tasks::parse_input;
    use weighbridge_tasks::ports::{ApprovalStatus, Registry};
    use weighbridge_tasks::train::train;

    async fn completed_job(b: &MemoryBackend, rmse: f64) -> String {
        let input = parse_input(json!({
            "executionName": format!("exec-{rmse}").replace('.', "-"),
            "algorithm": {"kind": "builtin", "name": "xgboost", "version": "1.7-1"},
            "channels": [{"name": "train", "s3Uri": "s3://data/train/", "contentType": "text/csv"}],
            "outputPath": "s3://data/models/",
            "roleArn": "arn:aws:iam::000000000000:role/sagemaker",
        }))
        .unwrap();
        let job = train(b, "us-east-1", &input).await.unwrap().training_job_name;
        b.complete_training_job(&job, &[("validation:rmse", rmse)]);
        job
    }

    fn gate(job: &str, approval: &str) -> EvaluateModelInput {
        parse_input(json!({
            "source": {"kind": "trainingJob", "trainingJobName": job},
            "metric": "validation:rmse",
            "threshold": 100.0,
            "registry": {"group": "salary-candidates", "approval": approval},
        }))
        .unwrap()
    }

    #[tokio::test]
    async fn a_passing_candidate_is_registered_with_its_lineage_and_a_failing_one_is_not() {
        let b = MemoryBackend::new();
        let job = completed_job(&b, 42.0).await;
        let out = evaluate_model(b.ports(), &gate(&job, "pendingManualApproval"))
            .await
            .unwrap();
        assert!(out.passed);
        let arn = out.model_package_arn.expect("registered");
        let package = b.describe_model_package(&arn).await.unwrap();
        assert_eq!(package.approval, ApprovalStatus::PendingManualApproval);
        assert_eq!(package.metadata["weighbridge:trainingJob"], job);
        assert_eq!(package.metadata["weighbridge:gateValue"], "42");
        assert!(package
            .model_data_url
            .ends_with(&format!("{job}/output/model.tar.gz")));
        // A retried gate finds its package.
        let again = evaluate_model(b.ports(), &gate(&job, "pendingManualApproval"))
            .await
            .unwrap();
        assert_eq!(again.model_package_arn.as_deref(), Some(arn.as_str()));
        assert_eq!(b.model_packages().len(), 1);

        let approved_job = completed_job(&b, 10.0).await;
        let approved = evaluate_model(b.ports(), &gate(&approved_job, "approved"))
            .await
            .unwrap();
        let package = b
            .describe_model_package(&approved.model_package_arn.unwrap())
            .await
            .unwrap();
        assert_eq!((package.approval, package.version), (ApprovalStatus::Approved, 2));

        let bad_job = completed_job(&b, 500.0).await;
        let rejected = evaluate_model(b.ports(), &gate(&bad_job, "approved"))
            .await
            .unwrap();
        assert!(!rejected.passed && rejected.model_package_arn.is_none());
        assert_eq!(
            b.model_packages().len(),
            2,
            "a failing candidate is not registered"
        );
    }

    #[tokio::test]
    async fn registration_needs_a_training_job_and_a_valid_group() {
        let b = MemoryBackend::new();
        let transform: Result<EvaluateModelInput, _> = parse_input(json!({
            "source": {"kind": "batchTransform", "predictionsUri": "s3://data/p.out", "labelsUri": "s3://data/l.csv"},
            "metric": "rmse",
            "registry": {"group": "salary"},
        }));
        let err = evaluate_model(b.ports(), &transform.unwrap()).await.unwrap_err();
        assert!(
            err.to_string().contains("registry needs source trainingJob"),
            "{err}"
        );
        let job = completed_job(&b, 1.0).await;
        let mut bad = gate(&job, "approved");
        bad.registry.as_mut().unwrap().group = "no spaces allowed".into();
        let err = evaluate_model(b.ports(), &bad).await.unwrap_err();
        assert_eq!(err.name(), "Weighbridge.InvalidInput");
        assert!(
            b.calls().iter().all(|c| c != "CreateModelPackage"),
            "{:?}",
            b.calls()
        );
    }
}
