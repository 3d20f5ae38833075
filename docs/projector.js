// The book's projector mode (docs/projector.css): a button in the menu bar
// turns it on and off, and the browser remembers the choice (localStorage)
// from page to page and from one visit to the next.
(() => {
  const KEY = 'chat-book-projector';
  const root = document.documentElement;

  const stored = () => {
    try {
      return localStorage.getItem(KEY) === 'on';
    } catch {
      return false; // storage refused (a file:// page in some browsers): off
    }
  };

  const apply = (on) => {
    root.classList.toggle('projector', on);
    const button = document.getElementById('projector-toggle');
    if (button) button.setAttribute('aria-pressed', String(on));
  };

  apply(stored());

  const buttons = document.querySelector('#mdbook-menu-bar .right-buttons');
  if (!buttons) return;
  const button = document.createElement('button');
  button.id = 'projector-toggle';
  button.type = 'button';
  button.className = 'icon-button';
  button.title = 'Projector: large type, full width, long lines wrapped';
  button.setAttribute('aria-label', 'Projector mode');
  button.setAttribute('aria-pressed', String(stored()));
  // A screen on its stand, drawn here: nothing is fetched for it.
  button.innerHTML =
    '<span class="fa-svg"><svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" ' +
    'style="fill: none" stroke="currentColor" stroke-width="2" ' +
    'stroke-linecap="round" stroke-linejoin="round" aria-hidden="true">' +
    '<rect x="2" y="3" width="20" height="13" rx="1"/><path d="M12 16v4M8 21h8"/></svg></span>';
  button.addEventListener('click', () => {
    const on = !root.classList.contains('projector');
    try {
      localStorage.setItem(KEY, on ? 'on' : 'off');
    } catch {
      // Not remembered, but still applied to this page.
    }
    apply(on);
  });
  buttons.prepend(button);
})();
