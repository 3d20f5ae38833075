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
    // The id goes as the form has it, a string of digits: the API accepts it.
    // No author: the server knows who is logged in (step 20).
    const message = await send({
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

/** The ids of the messages in the table: none is added twice (step 19). */
const shown = new Set([...rows.rows].map((row) => Number(row.dataset.id)));

/**
 * Adds `message` to the table, unless it is there already: a page gets a
 * message from its own POST and from the WebSocket, and again when it
 * catches up. The rows stay in the order of the ids, the order in which
 * the messages were stored, whatever the order they arrive in (step 19).
 */
function addMessage(message) {
  if (shown.has(message.id)) return;
  shown.add(message.id);
  const later = [...rows.rows].find((row) => Number(row.dataset.id) > message.id);
  rows.insertBefore(messageRow(message), later ?? null);
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
  row.dataset.id = message.id;
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

// Where the page says whether it is up to date (step 19).
const status = document.querySelector('p.status');
// How long to wait before trying again (step 19): half a second, then twice
// as long each time, up to 8 s, so that a server that stays down is not
// called in a tight loop. Socket.IO did this by itself.
let retryIn = 500;

/** Opens the WebSocket, and opens it again whenever it drops (step 19). */
function connect() {
  socket = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`);
  // The server subscribes the page to its session's user (step 20).
  socket.addEventListener('open', () => {
    emit('connect-ack', `the messages page of ${me.nickname} is connected`);
  });
  socket.addEventListener('message', (frame) => {
    const { event, data } = JSON.parse(frame.data);
    handlers.get(event)?.(data);
  });
  socket.addEventListener('close', () => {
    document.body.dataset.subscribed = 'no';
    status.textContent = `not connected: trying again in ${retryIn / 1000} s…`;
    setTimeout(connect, retryIn);
    retryIn = Math.min(retryIn * 2, 8000);
  });
}

connect();

// The server confirms the subscription: from now on, every new message
// comes over the socket. What was sent before it (while the page loaded,
// or while it was not connected) is fetched once: then the page is up to
// date (step 19). Not the whole conversation: the pages newer than the
// last message the table is sure of (step 21).
on('subscribed', catchUp);

on('catch-up', catchUpFrom);

/**
 * The server's instance may have missed messages (step 23): Redis was
 * away, or message `from` could not be published (null: the server does
 * not know which). The database has them all: the page catches up.
 */
function catchUpFrom(from) {
  if (from !== null) complete = Math.min(complete, from - 1);
  catchUp();
}

// The newest message up to which the table lacks nothing: the catch-up
// fetches pages back to it, not further (step 21).
let complete = Math.max(0, ...shown);

/** Adds what the table lacks of the conversation; on failure, tries again. */
async function catchUp() {
  // Until it is done, a new message does not prove the table complete.
  document.body.dataset.subscribed = 'no';
  status.textContent = 'connected: catching up…';
  const newest = await addPagesBackTo(complete);
  if (socket.readyState !== WebSocket.OPEN) return; // it dropped: connect() starts over
  if (newest === null) {
    status.textContent = `catching up failed: trying again in ${retryIn / 1000} s…`;
    setTimeout(catchUp, retryIn);
    retryIn = Math.min(retryIn * 2, 8000);
    return;
  }
  // Complete up to what the catch-up read, not up to every row shown: a
  // POST's answer may have come in ahead of a message still on its way.
  complete = Math.max(complete, newest);
  retryIn = 500;
  document.body.dataset.subscribed = 'yes';
  status.textContent = 'connected: new messages appear as they are sent';
}

/**
 * Adds the conversation's pages, the newest first, until one reaches
 * message `id` or the start. Answers the newest id it read (`id` if none),
 * or null if a page could not be fetched.
 */
async function addPagesBackTo(id) {
  let url = `/api/messages/with/${me.id}`;
  let newest = id;
  while (url) {
    const page = await fetchPage(url);
    if (!page) return null;
    page.messages.forEach(addMessage);
    newest = Math.max(newest, ...page.messages.map((message) => message.id));
    if (page.messages.length === 0 || page.messages[0].id <= id) return newest;
    url = page.prev;
  }
  return newest;
}

/**
 * GETs a page of the conversation: its messages, oldest first, and where
 * the page before it is (the URL in its `Link: <...>; rel="prev"` header),
 * or null at the start. Answers null if it could not be fetched.
 */
async function fetchPage(url) {
  const response = await fetch(url).catch(() => null);
  const messages = response?.ok ? await response.json().catch(() => null) : null;
  if (!messages) return null;
  const link = response.headers.get('Link')?.match(/<([^>]*)>; rel="prev"/);
  return { messages, prev: link ? link[1] : null };
}

// A new message to or from this page's user (steps 18 and 19). Once the
// page is up to date, each one that comes is the newest (step 21).
on('message', (message) => {
  addMessage(message);
  if (document.body.dataset.subscribed === 'yes') complete = Math.max(complete, message.id);
});

// The button above the table, when the conversation has older messages
// than the table shows (step 21).
const older = document.querySelector('button#older');
older?.addEventListener('click', showOlder);

/** Adds the page before the first row, above it, keeping the rows in view where they were. */
async function showOlder() {
  const first = rows.rows[0];
  const top = first.getBoundingClientRect().top;
  older.disabled = true;
  const page = await fetchPage(`/api/messages/with/${me.id}?before=${first.dataset.id}`);
  older.disabled = false;
  if (!page) {
    older.textContent = 'Older messages (that failed: try again)';
    return;
  }
  page.messages.forEach(addMessage);
  // The rows added push the first one down: scroll by as much, so that
  // what the reader was reading stays where it was on the screen.
  window.scrollBy(0, first.getBoundingClientRect().top - top);
  older.textContent = 'Older messages';
  if (!page.prev) older.replaceWith('The start of the conversation.');
}
