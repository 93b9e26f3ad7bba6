/*
 * Passkeys (WebAuthn) on Tessera's pages: "Add a passkey" on /account, "Use a passkey"
 * and passkey autofill (conditional UI) on /login, and on /login/second-factor.
 * A plain script, served as written (no bundler, no inline script: the pages' CSP allows only
 * scripts of this origin). Each ceremony asks the server for its options, hands them to the
 * browser, and posts the credential back as JSON with the page's CSRF token; the server answers
 * where to go next ({"redirect"}) or what went wrong ({"error", "error_description"}).
 */
(() => {
  const script = document.currentScript;
  /** The issuer's path ("" or e.g. "/tenant-a"), read from where this script was loaded. */
  const base = script ? new URL(script.src).pathname.replace(/\/assets\/passkeys\.js$/, '') : '';

  function toBase64url(buffer) {
    const bytes = new Uint8Array(buffer);
    let binary = '';
    for (const byte of bytes) binary += String.fromCharCode(byte);
    return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  function fromBase64url(text) {
    const padded = text.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((text.length + 3) % 4);
    const binary = atob(padded);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes.buffer;
  }

  const descriptors = (list) =>
    (list || []).map((c) => ({
      type: 'public-key',
      id: fromBase64url(c.id),
      transports: c.transports,
    }));

  /** The server's options (JSON, base64url) as navigator.credentials.create() takes them. */
  function creationOptions(json) {
    return {
      ...json,
      challenge: fromBase64url(json.challenge),
      user: { ...json.user, id: fromBase64url(json.user.id) },
      excludeCredentials: descriptors(json.excludeCredentials),
    };
  }

  /** The server's options as navigator.credentials.get() takes them. */
  function requestOptions(json) {
    return {
      ...json,
      challenge: fromBase64url(json.challenge),
      allowCredentials: descriptors(json.allowCredentials),
    };
  }

  function registrationJSON(credential) {
    const response = credential.response;
    return {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      response: {
        clientDataJSON: toBase64url(response.clientDataJSON),
        attestationObject: toBase64url(response.attestationObject),
        transports: typeof response.getTransports === 'function' ? response.getTransports() : [],
      },
      clientExtensionResults: {},
    };
  }

  function assertionJSON(credential) {
    const response = credential.response;
    return {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      response: {
        clientDataJSON: toBase64url(response.clientDataJSON),
        authenticatorData: toBase64url(response.authenticatorData),
        signature: toBase64url(response.signature),
        ...(response.userHandle ? { userHandle: toBase64url(response.userHandle) } : {}),
      },
      clientExtensionResults: {},
    };
  }

  function csrf() {
    const field = document.querySelector('input[name="_csrf"]');
    return field ? field.value : '';
  }

  async function post(path, body) {
    const res = await fetch(base + path, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ _csrf: csrf(), ...body }),
    });
    let answer = {};
    try {
      answer = await res.json();
    } catch {
      // Not JSON (a proxy's error page): the message below says enough.
    }
    if (!res.ok) {
      throw new Error(answer.error_description || 'Something went wrong: try again.');
    }
    return answer;
  }

  /** The role="alert" element that says what went wrong, made after `near` when the page has none. */
  function alertBox(near) {
    let box = document.getElementById('passkey-error');
    if (!box) {
      box = document.createElement('p');
      box.id = 'passkey-error';
      box.className = 'error';
      box.setAttribute('role', 'alert');
      near.insertAdjacentElement('afterend', box);
    }
    return box;
  }

  function showError(near, message) {
    const box = alertBox(near);
    box.textContent = message;
    box.hidden = false;
  }

  function clearError() {
    const box = document.getElementById('passkey-error');
    if (box) {
      box.textContent = '';
      box.hidden = true;
    }
  }

  /** What to tell the person about a failed ceremony; null when there is nothing to say. */
  function messageOf(error) {
    switch (error?.name) {
      case 'AbortError':
        return null;
      case 'NotAllowedError':
        return 'The passkey request was cancelled or timed out.';
      case 'InvalidStateError':
        return 'This device already has a passkey for your account.';
      case 'SecurityError':
        return 'Passkeys cannot be used on this address.';
      default:
        return error?.message || 'Something went wrong: try again.';
    }
  }

  /** Runs one ceremony started by `button`, showing what went wrong next to it. */
  async function run(button, ceremony) {
    clearError();
    if (button) button.disabled = true;
    try {
      await ceremony();
    } catch (error) {
      const message = messageOf(error);
      if (message) showError(button, message);
    } finally {
      if (button) button.disabled = false;
    }
  }

  /** Sign-in ceremonies: `paths` are the options and credential endpoints. */
  async function getPasskey(paths, extra, mediation, signal) {
    const options = await post(paths[0], {});
    const credential = await navigator.credentials.get({
      publicKey: requestOptions(options),
      ...(mediation ? { mediation } : {}),
      ...(signal ? { signal } : {}),
    });
    if (!credential) return;
    const answer = await post(paths[1], { ...extra, credential: assertionJSON(credential) });
    if (answer.redirect) window.location.assign(answer.redirect);
  }

  function setUpSignIn() {
    const box = document.getElementById('passkey-sign-in-box');
    const button = document.getElementById('passkey-sign-in');
    if (!box || !button) return;
    box.hidden = false;
    const returnTo = document.querySelector('input[name="return_to"]');
    const extra = returnTo ? { return_to: returnTo.value } : {};
    const paths = ['/login/passkey/options', '/login/passkey'];
    let autofill = null;

    button.addEventListener('click', () => {
      // One ceremony at a time: the autofill one gives way to the button's.
      if (autofill) autofill.abort();
      autofill = null;
      void run(button, () => getPasskey(paths, extra));
    });

    const conditional = PublicKeyCredential.isConditionalMediationAvailable;
    if (typeof conditional !== 'function') return;
    void conditional.call(PublicKeyCredential).then((available) => {
      if (!available) return;
      autofill = new AbortController();
      const signal = autofill.signal;
      getPasskey(paths, extra, 'conditional', signal).catch((error) => {
        // Autofill runs unasked: the browser's own refusals (no passkey chosen, an address
        // passkeys cannot use) are not the person's to read; a refusal from Tessera is.
        if (signal.aborted || error instanceof DOMException) return;
        const message = messageOf(error);
        if (message) showError(button, message);
      });
    });
  }

  function setUpSecondFactor() {
    const button = document.getElementById('passkey-second-factor');
    if (!button) return;
    const paths = ['/login/second-factor/passkey/options', '/login/second-factor/passkey'];
    button.addEventListener('click', () => void run(button, () => getPasskey(paths, {})));
  }

  function setUpRegistration() {
    const form = document.getElementById('passkey-add');
    if (!form) return;
    const button = form.querySelector('button[type="submit"]');
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const name = form.elements.namedItem('name').value;
      // "Password or code", shown when the sign-in is not recent: checked before any options.
      const confirmField = form.elements.namedItem('confirm');
      const confirm = confirmField ? { confirm: confirmField.value } : {};
      void run(button, async () => {
        const options = await post('/account/passkeys/options', confirm);
        const credential = await navigator.credentials.create({
          publicKey: creationOptions(options),
        });
        if (!credential) return;
        const answer = await post('/account/passkeys', {
          name,
          credential: registrationJSON(credential),
        });
        if (answer.redirect) window.location.assign(answer.redirect);
      });
    });
  }

  // Without WebAuthn the pages stay as they are: the password and the other factors still work.
  if (!window.PublicKeyCredential || !navigator.credentials) return;
  setUpSignIn();
  setUpSecondFactor();
  setUpRegistration();
})();
