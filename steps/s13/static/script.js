// The messages page's script: what the page does in the browser, from
// sending its form (step 13) on.
//
// An HTML form can send its fields only URL-encoded (or as multipart), and
// POST /api/messages reads JSON: so the script reads the form and sends the
// JSON itself, with fetch. It is a file of its own, served by the step like
// the stylesheet: the page's Content-Security-Policy (step 04) runs no script
// written inside the page.

const form = document.querySelector('form#send');

form.addEventListener('submit', submit);

/** Sends the form's message to the API. */
async function submit(event) {
  // The browser would navigate away with the fields in the URL: not that.
  event.preventDefault();
  const fields = new FormData(form);
  // The ids go as the form has them, strings of digits: the API accepts them.
  await send({
    author_id: fields.get('author_id'),
    recipient_id: fields.get('recipient_id'),
    content: fields.get('content'),
  });
}

/** POSTs `message` to the API. */
async function send(message) {
  await fetch('/api/messages', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(message),
  });
}
