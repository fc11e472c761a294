//! A deadline for reading the request body.
//!
//! actix-http times out a client that is slow to send the request *head*
//! (`client_request_timeout`), never one that is slow to send the *body*: a client that announces
//! `Content-Length: 100000` and then stalls would hold its connection (and the handler waiting for
//! the body) forever. [`BodyDeadline`] gives the whole body `timeout` from the moment the request
//! head arrived; when it passes, reading the body fails, and the request is answered 408
//! `request_timeout` with `Connection: close`, so the connection ends too.

use std::cell::Cell;
use std::future::{Future as _, Ready, ready};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::BoxBody;
use actix_web::dev::{Payload, Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::error::PayloadError;
use actix_web::http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
use actix_web::web::Bytes;
use actix_web::{Error, HttpMessage as _, ResponseError as _};
use futures_util::Stream;
use futures_util::future::LocalBoxFuture;

use crate::error::{ApiError, ErrorCode};

/// The middleware: every request body must have arrived within `timeout` of its head.
#[derive(Debug, Clone, Copy)]
pub struct BodyDeadline {
    /// The time the whole body may take.
    pub timeout: Duration,
}

impl<S> Transform<S, ServiceRequest> for BodyDeadline
where
    S: Service<ServiceRequest, Response = ServiceResponse<BoxBody>, Error = Error> + 'static,
{
    type Response = ServiceResponse<BoxBody>;
    type Error = Error;
    type Transform = BodyDeadlineService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(BodyDeadlineService {
            service: Rc::new(service),
            timeout: self.timeout,
        }))
    }
}

/// The middleware's service.
pub struct BodyDeadlineService<S> {
    service: Rc<S>,
    timeout: Duration,
}

impl<S> Service<ServiceRequest> for BodyDeadlineService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<BoxBody>, Error = Error> + 'static,
{
    type Response = ServiceResponse<BoxBody>;
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, mut req: ServiceRequest) -> Self::Future {
        let has_body = req.headers().contains_key(CONTENT_LENGTH)
            || req.headers().contains_key(TRANSFER_ENCODING)
            || req.version() >= actix_web::http::Version::HTTP_2;
        if !has_body {
            return Box::pin(self.service.call(req));
        }
        let expired = Rc::new(Cell::new(false));
        let body = TimedBody {
            inner: req.take_payload(),
            deadline: Box::pin(tokio::time::sleep(self.timeout)),
            expired: Rc::clone(&expired),
        };
        req.set_payload(Payload::from(
            Box::pin(body) as Pin<Box<dyn Stream<Item = _>>>
        ));
        let (service, timeout) = (Rc::clone(&self.service), self.timeout);
        Box::pin(async move {
            let res = service.call(req).await?;
            if !expired.get() {
                return Ok(res);
            }
            let (req, _) = res.into_parts();
            let mut answer = ApiError::new(
                ErrorCode::RequestTimeout,
                format!(
                    "the request body did not arrive within {} ms",
                    timeout.as_millis()
                ),
            )
            .error_response();
            answer
                .head_mut()
                .set_connection_type(actix_http::ConnectionType::Close);
            Ok(ServiceResponse::new(req, answer))
        })
    }
}

/// The request body, failing with a timed-out I/O error once the deadline passed.
struct TimedBody {
    inner: Payload,
    deadline: Pin<Box<tokio::time::Sleep>>,
    expired: Rc<Cell<bool>>,
}

impl Stream for TimedBody {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.expired.get() {
            return Poll::Ready(None);
        }
        if let Poll::Ready(item) = Pin::new(&mut self.inner).poll_next(cx) {
            return Poll::Ready(item);
        }
        if self.deadline.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        self.expired.set(true);
        let err = std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "the request body did not arrive in time",
        );
        Poll::Ready(Some(Err(PayloadError::Io(err))))
    }
}
