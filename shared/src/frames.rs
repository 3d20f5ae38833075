//! A limit on the size of the WebSocket frames a page sends, checked as soon
//! as each frame's header arrives (steps 16 and later).
//!
//! actix-ws has a frame limit (`MessageStream::max_frame_size`), but checks it
//! only once a whole frame has arrived: a client that announces a frame of a
//! terabyte and sends it slowly makes the server keep every byte it sends
//! (64 MiB sent, 64 MiB more memory, measured). [`limit_frames`] reads the
//! length in each frame's header as the bytes go by, keeping none of them,
//! and ends the connection's input with an error at the first frame longer
//! than the limit.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::error::PayloadError;
use actix_web::web::{self, Bytes};
use actix_web::{FromRequest, HttpRequest, dev};
use futures_core::Stream;

/// The WebSocket's input, `body`, refused from the first frame whose header
/// says it is longer than `max` bytes: the stream then fails with an error
/// saying so, which actix-ws passes on to the step as a protocol error.
pub fn limit_frames(req: &HttpRequest, body: web::Payload, max: usize) -> web::Payload {
    let limited: Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>> = Box::pin(FrameLimit {
        input: body.into_inner(),
        max: max as u64,
        header: Vec::new(),
        left: 0,
        failed: false,
    });
    let mut payload = dev::Payload::from(limited);
    web::Payload::from_request(req, &mut payload)
        .into_inner()
        .expect("web::Payload takes any payload")
}

/// The input stream, followed frame by frame.
struct FrameLimit {
    input: dev::Payload,
    max: u64,
    /// The bytes of the header being read.
    header: Vec<u8>,
    /// The bytes of the current frame's payload still to come.
    left: u64,
    failed: bool,
}

impl FrameLimit {
    /// Follows the frames through `bytes`; fails at a header that announces
    /// more than `max` bytes.
    fn follow(&mut self, mut bytes: &[u8]) -> Result<(), String> {
        while let Some((&first, rest)) = bytes.split_first() {
            if self.left > 0 {
                let skip = self.left.min(bytes.len() as u64);
                self.left -= skip;
                bytes = &bytes[skip as usize..];
                continue;
            }
            self.header.push(first);
            bytes = rest;
            if let Some(length) = payload_length(&self.header) {
                if length > self.max {
                    return Err(format!(
                        "a frame of {length} bytes: the limit is {} bytes",
                        self.max
                    ));
                }
                self.header.clear();
                self.left = length;
            }
        }
        Ok(())
    }
}

/// The payload length that a frame's header announces, once `header` holds
/// all of it (2 to 14 bytes, RFC 6455 section 5.2); `None` before.
fn payload_length(header: &[u8]) -> Option<u64> {
    let [_, second, rest @ ..] = header else {
        return None;
    };
    let (length_bytes, length) = match second & 0x7f {
        126 => (
            2,
            u64::from(u16::from_be_bytes(rest.get(..2)?.try_into().ok()?)),
        ),
        127 => (8, u64::from_be_bytes(rest.get(..8)?.try_into().ok()?)),
        short => (0, u64::from(short)),
    };
    let mask_bytes = if second & 0x80 != 0 { 4 } else { 0 };
    (rest.len() == length_bytes + mask_bytes).then_some(length)
}

impl Stream for FrameLimit {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.failed {
            return Poll::Ready(None);
        }
        let next = Pin::new(&mut this.input).poll_next(cx);
        if let Poll::Ready(Some(Ok(bytes))) = &next
            && let Err(why) = this.follow(bytes)
        {
            this.failed = true;
            let error = io::Error::new(io::ErrorKind::InvalidData, why);
            return Poll::Ready(Some(Err(PayloadError::Io(error))));
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use super::payload_length;

    #[test]
    fn payload_length_reads_the_three_sizes_of_header_once_complete() {
        assert_eq!(payload_length(&[0x81]), None);
        assert_eq!(
            payload_length(&[0x81, 0x85]),
            None,
            "the mask is still to come"
        );
        assert_eq!(payload_length(&[0x81, 0x85, 1, 2, 3, 4]), Some(5));
        assert_eq!(payload_length(&[0x81, 0x05]), Some(5), "unmasked");
        assert_eq!(payload_length(&[0x81, 0xfe, 1]), None);
        assert_eq!(payload_length(&[0x81, 0xfe, 1, 0, 9, 9, 9, 9]), Some(256));
        let huge = [0x81, 0xff, 0, 0, 1, 0, 0, 0, 0, 0, 9, 9, 9, 9];
        assert_eq!(payload_length(&huge), Some(1 << 40));
        assert_eq!(payload_length(&huge[..13]), None);
    }
}
