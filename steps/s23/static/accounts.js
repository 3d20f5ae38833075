// Every page's script for accounts (step 20): the sign-up and login forms,
// sent as JSON as the messages form is, and the "Log out" button.
//
// The session cookie that logging in sets is out of this script's reach
// (HttpOnly): the browser keeps it, and sends it with each request to this
// server by itself.

for (const form of document.querySelectorAll('form#signup, form#login')) {
  form.addEventListener('submit', logIn);
}
document.querySelector('button#logout')?.addEventListener('click', logOut);

/** Signs up first on the sign-up page, then logs in and opens the user's messages. */
async function logIn(event) {
  event.preventDefault();
  const form = event.target;
  const fields = Object.fromEntries(new FormData(form));
  const error = form.querySelector('p.error');
  try {
    if (form.id === 'signup') await post('/api/users', fields);
    await post('/api/login', { nickname: fields.nickname, password: fields.password });
    location.assign('/front/messages');
  } catch (failure) {
    error.textContent = failure.message;
    error.hidden = false;
  }
}

/** Ends the session (the server deletes the cookie), then shows the login page. */
async function logOut() {
  await post('/api/logout', {}).catch(() => {});
  location.assign('/front/login');
}

/** POSTs `body` as JSON to `path`; answers the JSON answer, or throws why not. */
async function post(path, body) {
  const response = await fetch(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  }).catch(() => {
    throw new Error('the server does not answer. Is it running?');
  });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(answer.error ?? `the server answered ${response.status}`);
  return answer;
}
