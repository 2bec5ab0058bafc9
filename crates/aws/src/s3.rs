//! S3 on `aws-sdk-s3`: objects with ETags, conditional puts, paginated listing.

use async_trait::async_trait;
use aws_sdk_s3::operation::get_object::GetObjectOutput;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;
use weighbridge_tasks::ports::{
    ObjectChunks, ObjectStore, ObjectSummary, PortError, PortResult, PutCondition, StoredObject,
};

use crate::errors::classify;

/// [`ObjectStore`] on the AWS SDK.
#[derive(Clone, Debug)]
pub struct S3Store {
    client: Client,
}

impl S3Store {
    /// The adapter over an S3 client.
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    /// GetObject: the response (its body not read yet) and the ETag.
    async fn fetch(&self, bucket: &str, key: &str) -> PortResult<(GetObjectOutput, String)> {
        let out = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(classify)?;
        let etag = out.e_tag().unwrap_or_default().to_string();
        Ok((out, etag))
    }
}

#[async_trait]
impl ObjectStore for S3Store {
    async fn get_object(&self, bucket: &str, key: &str) -> PortResult<StoredObject> {
        let (out, etag) = self.fetch(bucket, key).await?;
        let body = out
            .body
            .collect()
            .await
            .map_err(|e| PortError::Unavailable(format!("reading s3://{bucket}/{key}: {e}")))?
            .into_bytes()
            .to_vec();
        Ok(StoredObject { body, etag })
    }

    async fn get_object_chunks(&self, bucket: &str, key: &str) -> PortResult<ObjectChunks> {
        let (out, etag) = self.fetch(bucket, key).await?;
        let name = format!("s3://{bucket}/{key}");
        let chunks = futures::stream::unfold(Some(out.body), move |body| {
            let name = name.clone();
            async move {
                let mut body = body?;
                match body.next().await? {
                    Ok(bytes) => Some((Ok(bytes.to_vec()), Some(body))),
                    // The connection broke mid-body: retryable, and the stream ends here.
                    Err(e) => Some((Err(PortError::Unavailable(format!("reading {name}: {e}"))), None)),
                }
            }
        });
        Ok(ObjectChunks {
            etag,
            chunks: Box::pin(chunks),
        })
    }

    async fn put_object(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
        condition: PutCondition,
    ) -> PortResult<String> {
        let mut call = self
            .client
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(ByteStream::from(body));
        call = match condition {
            PutCondition::Always => call,
            PutCondition::IfAbsent => call.if_none_match("*"),
            PutCondition::IfMatch(etag) => call.if_match(etag),
        };
        let out = call.send().await.map_err(classify)?;
        Ok(out.e_tag().unwrap_or_default().to_string())
    }

    async fn list_objects(&self, bucket: &str, prefix: &str) -> PortResult<Vec<ObjectSummary>> {
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            for o in page.map_err(classify)?.contents() {
                out.push(ObjectSummary {
                    key: o.key().unwrap_or_default().to_string(),
                    etag: o.e_tag().unwrap_or_default().to_string(),
                    size: o.size().unwrap_or(0).max(0) as u64,
                });
            }
        }
        Ok(out)
    }
}
