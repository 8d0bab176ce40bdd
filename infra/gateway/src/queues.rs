//! SQS event sources, for the gateway: the template's queues are created in the emulator (moto
//! serves SQS), and each function with an `SQS` event is fed as Lambda's event source mapping
//! feeds it: pollers receive batches (up to `BatchSize`), invoke the function with the SQS event,
//! and delete the messages it handled — all of them, or, with `ReportBatchItemFailures`, all but
//! those it names. A failed or timed-out invocation deletes nothing: the messages come back when
//! their visibility timeout ends (or when the function shortened it), and after the queue's
//! `maxReceiveCount` moto moves them to the dead-letter queue. FIFO queues keep each message
//! group in order: moto delivers nothing of a group while a batch of it is in flight.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, MessageSystemAttributeName, QueueAttributeName};
use aws_sdk_sqs::Client;
use shared::adapter::app::App;
use shared::adapter::endpoints::Endpoint;
use shared::adapter::queued::{sqs_event, Received};
use shared::adapter::scheduled::scheduled_request;
use shared::adapter::table::Route;
use shared::domain::config::QueueUrls;
use tokio::task::JoinHandle;

use crate::lambda::{invoke, Timeouts};
use crate::template::{Template, TemplateError};

/// How long a queue's watching poller waits before asking again, unless a send wakes it first.
/// Lambda's pollers long-poll (a receive returns as soon as a message arrives); moto's long
/// polling would hold the emulator's one lock, so each message sent in this process wakes one
/// poller of its queue instead ([`waking`]), and one poller per queue also asks at this interval
/// for messages that become visible on their own (a delay or a visibility timeout ending). The
/// others sleep until woken: idle queues cost the emulator four receives a second, not thirty.
const IDLE_POLL: Duration = Duration::from_millis(250);

/// Pollers per standard queue at most. Lambda starts five concurrent batches and, while messages
/// keep coming, adds up to 1,250 concurrent invocations a minute, up to the mapping's
/// `MaximumConcurrency`: a window's shards are delivered at once, not a few at a time. Locally a
/// queue has as many pollers as that allows, up to this; the ones not needed sleep until a sent
/// message wakes them (or one that found work wakes the next).
const STANDARD_POLLERS_MAX: u64 = 64;
/// Pollers per standard queue whose mapping declares no `MaximumConcurrency`.
const STANDARD_POLLERS: u64 = 8;
/// Pollers per FIFO queue (a message group has one batch in flight at a time anyway).
const FIFO_POLLERS: u64 = 2;

/// Per queue URL: woken once per message sent through a [`waking`] client.
static SENT: std::sync::LazyLock<std::sync::Mutex<HashMap<String, Arc<tokio::sync::Notify>>>> =
    std::sync::LazyLock::new(Default::default);

fn sent_to(url: &str) -> Arc<tokio::sync::Notify> {
    SENT.lock()
        .unwrap_or_else(|p| p.into_inner())
        .entry(url.to_string())
        .or_default()
        .clone()
}

/// `sqs` with an interceptor that wakes one idle poller of the queue per message it sends: the
/// emulation of long polling (the app the gateway runs sends through it).
pub fn waking(sqs: &Client) -> Client {
    let conf = sqs.config().to_builder().interceptor(WakePollers).build();
    Client::from_conf(conf)
}

/// A send's queue and message count, from its input to its end.
#[derive(Clone, Debug)]
struct Sending(String, usize);

impl aws_smithy_types::config_bag::Storable for Sending {
    type Storer = aws_smithy_types::config_bag::StoreReplace<Self>;
}

#[derive(Debug)]
struct WakePollers;

impl aws_sdk_sqs::config::Intercept for WakePollers {
    fn name(&self) -> &'static str {
        "WakePollers"
    }

    fn read_before_execution(
        &self,
        context: &aws_sdk_sqs::config::interceptors::BeforeSerializationInterceptorContextRef<'_>,
        cfg: &mut aws_sdk_sqs::config::ConfigBag,
    ) -> Result<(), aws_sdk_sqs::error::BoxError> {
        use aws_sdk_sqs::operation::send_message::SendMessageInput;
        use aws_sdk_sqs::operation::send_message_batch::SendMessageBatchInput;
        let input = context.input();
        let sending = if let Some(one) = input.downcast_ref::<SendMessageInput>() {
            one.queue_url().map(|u| Sending(u.to_string(), 1))
        } else {
            input
                .downcast_ref::<SendMessageBatchInput>()
                .and_then(|b| b.queue_url().map(|u| Sending(u.to_string(), b.entries().len())))
        };
        if let Some(sending) = sending {
            cfg.interceptor_state().store_put(sending);
        }
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &aws_sdk_sqs::config::interceptors::FinalizerInterceptorContextRef<'_>,
        _: &aws_sdk_sqs::config::RuntimeComponents,
        cfg: &mut aws_sdk_sqs::config::ConfigBag,
    ) -> Result<(), aws_sdk_sqs::error::BoxError> {
        let succeeded = context.output_or_error().is_some_and(|r| r.is_ok());
        if let (true, Some(Sending(url, count))) = (succeeded, cfg.load::<Sending>()) {
            let notify = sent_to(url);
            for _ in 0..*count {
                notify.notify_one();
            }
        }
        Ok(())
    }
}

/// The template's queues, by logical id, with their URLs in the emulator.
#[derive(Clone, Debug, Default)]
pub struct Queues(pub HashMap<String, String>);

impl Queues {
    /// The queue URLs the app is configured with: the queue feeding each fan-out function.
    pub fn urls(&self) -> QueueUrls {
        let feeding = |e: Endpoint| match e.route() {
            Route::Queue(id) => self.0.get(id).cloned(),
            _ => None,
        };
        QueueUrls {
            events: feeding(Endpoint::SequenceEvents),
            fanout: feeding(Endpoint::FanOut),
            aggregates: feeding(Endpoint::PublishAggregates),
        }
    }
}

fn sqs_err(e: impl std::error::Error) -> TemplateError {
    TemplateError(format!("SQS: {}", aws_sdk_sqs::error::DisplayErrorContext(e)))
}

/// Creates the template's queues in the emulator (dead-letter queues first), as CloudFormation
/// would; an existing queue is reused.
pub async fn ensure_queues(sqs: &Client, template: &Template) -> Result<Queues, TemplateError> {
    let mut queues = Queues::default();
    let mut arns: HashMap<String, String> = HashMap::new();
    let mut pending: Vec<_> = template.queues.iter().collect();
    while !pending.is_empty() {
        let before = pending.len();
        let mut later = Vec::new();
        for q in pending {
            let mut create = sqs
                .create_queue()
                .queue_name(q.name())
                .attributes(QueueAttributeName::VisibilityTimeout, q.visibility_timeout.to_string());
            if q.fifo {
                create = create.attributes(QueueAttributeName::FifoQueue, "true");
            }
            if let Some((target, receives)) = &q.dead_letters {
                let Some(arn) = arns.get(target) else {
                    later.push(q);
                    continue;
                };
                let policy = serde_json::json!({"deadLetterTargetArn": arn, "maxReceiveCount": receives});
                create = create.attributes(QueueAttributeName::RedrivePolicy, policy.to_string());
            }
            let url = create.send().await.map_err(sqs_err)?.queue_url.unwrap_or_default();
            let arn = sqs
                .get_queue_attributes()
                .queue_url(&url)
                .attribute_names(QueueAttributeName::QueueArn)
                .send()
                .await
                .map_err(sqs_err)?
                .attributes
                .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
                .unwrap_or_default();
            arns.insert(q.id.clone(), arn);
            queues.0.insert(q.id.clone(), url);
        }
        if later.len() == before {
            return Err(TemplateError(
                "a RedrivePolicy names a queue the template does not have".into(),
            ));
        }
        pending = later;
    }
    Ok(queues)
}

/// Feeds every function with an `SQS` event from its queue, as Lambda's event source mapping does.
pub fn serve_queues(
    app: Arc<App>,
    template: &Template,
    timeouts: Timeouts,
    sqs: Client,
    queues: &Queues,
) -> Result<Vec<JoinHandle<()>>, TemplateError> {
    let mut tasks = Vec::new();
    for source in &template.queue_events {
        let endpoint = Endpoint::from_function_id(&source.function_id)
            .ok_or_else(|| TemplateError(format!("{}: no endpoint runs it", source.function_id)))?;
        let def = template
            .queues
            .iter()
            .find(|q| q.id == source.queue_id)
            .ok_or_else(|| TemplateError(format!("{}: no queue {}", source.function_id, source.queue_id)))?;
        let url = queues
            .0
            .get(&source.queue_id)
            .cloned()
            .ok_or_else(|| TemplateError(format!("queue {} was not created", source.queue_id)))?;
        let arn = shared::adapter::queued::local_queue_arn(&def.name());
        let pollers = match (def.fifo, source.max_concurrency) {
            (true, _) => FIFO_POLLERS,
            (false, Some(max)) => max.clamp(1, STANDARD_POLLERS_MAX),
            (false, None) => STANDARD_POLLERS,
        };
        for n in 0..pollers {
            let poller = Poller {
                watching: n == 0,
                app: app.clone(),
                timeouts: timeouts.clone(),
                sqs: sqs.clone(),
                endpoint,
                url: url.clone(),
                arn: arn.clone(),
                batch_size: source.batch_size.clamp(1, 10) as i32,
                reports_failures: source.reports_failures,
            };
            tasks.push(tokio::spawn(poller.run()));
        }
    }
    Ok(tasks)
}

struct Poller {
    /// Asks every [`IDLE_POLL`] even when nothing woke it.
    watching: bool,
    app: Arc<App>,
    timeouts: Timeouts,
    sqs: Client,
    endpoint: Endpoint,
    url: String,
    arn: String,
    batch_size: i32,
    reports_failures: bool,
}

impl Poller {
    async fn run(self) {
        loop {
            match self.once().await {
                Ok(true) => {
                    // Work found (perhaps by the watcher, with no send to wake anyone): one more
                    // poller looks too, and so on while batches keep coming.
                    sent_to(&self.url).notify_one();
                }
                Ok(false) if self.watching => {
                    let _ = tokio::time::timeout(IDLE_POLL, sent_to(&self.url).notified()).await;
                }
                Ok(false) => sent_to(&self.url).notified().await,
                Err(e) => {
                    tracing::warn!(error = %e, queue = %self.url, "SQS poll failed");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }
    }

    /// Receives one batch and has the function handle it; false when the queue was empty.
    async fn once(&self) -> Result<bool, TemplateError> {
        let out = self
            .sqs
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(self.batch_size)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .map_err(sqs_err)?;
        let messages = out.messages.unwrap_or_default();
        if messages.is_empty() {
            return Ok(false);
        }
        let received: Vec<Received<'_>> = messages
            .iter()
            .map(|m| Received {
                message_id: m.message_id().unwrap_or_default(),
                receipt_handle: m.receipt_handle().unwrap_or_default(),
                body: m.body().unwrap_or_default(),
                attributes: serde_json::Value::Object(
                    m.attributes()
                        .into_iter()
                        .flatten()
                        .map(|(k, v)| (k.as_str().to_string(), serde_json::Value::String(v.clone())))
                        .collect(),
                ),
                md5_of_body: m.md5_of_body().unwrap_or_default(),
            })
            .collect();
        let event = sqs_event(&self.arn, &received);
        let answer = invoke(&self.app, &self.timeouts, self.endpoint, scheduled_request(&event)).await;
        let Some(answer) = answer.filter(|a| !a.status().is_server_error()) else {
            // A failed invocation: the whole batch comes back after its visibility timeout.
            tracing::warn!(
                function = self.endpoint.function_id(),
                "queue batch failed; it will be delivered again"
            );
            return Ok(true);
        };
        let failed: Vec<String> = if self.reports_failures {
            serde_json::from_slice::<serde_json::Value>(answer.body().as_ref())
                .ok()
                .and_then(|b| b.get("batchItemFailures").and_then(|f| f.as_array()).cloned())
                .unwrap_or_default()
                .iter()
                .filter_map(|f| f.get("itemIdentifier").and_then(|i| i.as_str()).map(str::to_string))
                .collect()
        } else {
            Vec::new()
        };
        let done: Vec<DeleteMessageBatchRequestEntry> = messages
            .iter()
            .enumerate()
            .filter(|(_, m)| !failed.iter().any(|f| Some(f.as_str()) == m.message_id()))
            .filter_map(|(i, m)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(m.receipt_handle()?)
                    .build()
                    .ok()
            })
            .collect();
        if !done.is_empty() {
            self.sqs
                .delete_message_batch()
                .queue_url(&self.url)
                .set_entries(Some(done))
                .send()
                .await
                .map_err(sqs_err)?;
        }
        Ok(true)
    }
}
