// The messages page's script: what the page does in the browser, from
// sending its form (step 13) on.
//
// An HTML form can send its fields only URL-encoded (or as multipart), and
// POST /api/messages reads JSON: so the script reads the form and sends the
// JSON itself, with fetch. It is a file of its own, served by the step like
// the stylesheet: the page's Content-Security-Policy (step 04) runs no script
// written inside the page.

const form = document.querySelector('form#send');
const input = form.querySelector('input[name="content"]');
const error = form.querySelector('p.error');
const rows = document.querySelector('table.messages tbody');

form.addEventListener('submit', submit);

/** Sends the form's message, and shows it, or why it could not be sent. */
async function submit(event) {
  // The browser would navigate away with the fields in the URL: not that.
  event.preventDefault();
  const fields = new FormData(form);
  try {
    // The ids go as the form has them, strings of digits: the API accepts them.
    const message = await send({
      author_id: fields.get('author_id'),
      recipient_id: fields.get('recipient_id'),
      content: fields.get('content'),
    });
    addMessage(message);
    input.value = '';
    error.hidden = true;
  } catch (failure) {
    // The text stays in the field, to be sent again.
    error.textContent = `Not sent: ${failure.message}`;
    error.hidden = false;
  }
}

/** POSTs `message` to the API; answers the stored message, or throws why not. */
async function send(message) {
  let response;
  try {
    response = await fetch('/api/messages', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(message),
    });
  } catch {
    throw new Error('the server does not answer. Is it running?');
  }
  // The API answers JSON: the message, or {"error": "..."} saying what is wrong.
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new Error(answer.error ?? `the server answered ${response.status}`);
  }
  return answer;
}

/** Adds `message` at the end of the table. */
function addMessage(message) {
  rows.append(messageRow(message));
  document.querySelector('p.empty')?.remove();
}

/**
 * A table row for `message`, as the page's own rows are. Built from DOM
 * nodes: text added with `append` is never read as HTML, so a message
 * `<img src=x onerror=...>` shows as that text (never use innerHTML here).
 */
function messageRow(message) {
  const date = document.createElement('time');
  date.dateTime = message.date;
  date.textContent = `${message.date.slice(0, 10)} ${message.date.slice(11, 16)} UTC`;
  const row = document.createElement('tr');
  for (const value of [date, message.author.nickname, message.recipient.nickname, message.content]) {
    const cell = document.createElement('td');
    cell.append(value);
    row.append(cell);
  }
  return row;
}

// The WebSocket (step 16). Its frames are JSON text, {"event": "...",
// "data": ...}: `emit` and `on` give them names, as Socket.IO's do.
let socket;

/** Sends the event `event`, with `data`, to the server. */
function emit(event, data) {
  socket.send(JSON.stringify({ event, data }));
}

/** What to do with each event the server sends, by name: see `on`. */
const handlers = new Map();

/** Calls `handler(data)` for each event `event` the server sends (step 18). */
function on(event, handler) {
  handlers.set(event, handler);
}

// Whose page this is: the server wrote it on <body> (step 17).
const me = { id: Number(document.body.dataset.userId), nickname: document.body.dataset.nickname };

/** Opens the WebSocket (step 16). */
function connect() {
  socket = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`);
  socket.addEventListener('open', () => {
    emit('connect-ack', `the messages page of ${me.nickname} is connected`);
    emit('subscribe', { user_id: me.id });
  });
  socket.addEventListener('message', (frame) => {
    const { event, data } = JSON.parse(frame.data);
    handlers.get(event)?.(data);
  });
}

connect();

// The server confirms the subscription: from now on, nothing is missed.
on('subscribed', () => {
  document.body.dataset.subscribed = 'yes';
});

// A new message for this page's user (step 18): say so.
const notice = document.querySelector('p.notice');
on('message', (message) => {
  notice.textContent = `New message from ${message.author.nickname}: reload the page to see it.`;
  notice.hidden = false;
});
