// banter web chat: plain browser JavaScript, no build step. Frames are described in adapters/web/protocol.ts.

const $ = (selector) => /** @type {HTMLElement} */ (document.querySelector(selector));
const ui = {
  botName: $('#bot-name'),
  conversationSelect: /** @type {HTMLSelectElement} */ ($('#conversation-select')),
  newConversation: $('#new-conversation'),
  presetSelect: /** @type {HTMLSelectElement} */ ($('#preset-select')),
  reset: $('#reset'),
  toggleInspector: $('#toggle-inspector'),
  connection: $('#connection'),
  messages: $('#messages'),
  notice: $('#notice'),
  composer: /** @type {HTMLFormElement} */ ($('#composer')),
  input: /** @type {HTMLTextAreaElement} */ ($('#input')),
  inspector: $('#inspector'),
  inspectorEmpty: $('#inspector-empty'),
  inspectorBody: $('#inspector-body'),
  followLatest: $('#follow-latest'),
};

const token = new URLSearchParams(location.search).get('token');
const STORAGE_KEY = 'banter.web.conversations';

const state = {
  /** @type {WebSocket | undefined} */ socket: undefined,
  maxFrameBytes: 0,
  /** @type {{ id: string, title: string }[]} */ conversations: loadConversations(),
  current: '',
  /** streamId -> the bubble being streamed into */
  streams: new Map(),
  /** turnId -> trace */
  traces: new Map(),
  /** turnId shown in the inspector; follow = show each new turn as it ends */
  shownTurn: '',
  follow: true,
  retryMs: 500,
};
state.current = state.conversations[0].id;

// ---------- conversations (ids are chosen here and kept in localStorage) ----------

function loadConversations() {
  try {
    const stored = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? '[]');
    if (Array.isArray(stored) && stored.length > 0 && stored.every((c) => typeof c.id === 'string')) return stored;
  } catch (error) {
    console.warn('banter: ignoring unreadable saved conversations', error);
  }
  return [{ id: newConversationId(), title: 'Conversation 1' }];
}

function saveConversations() {
  localStorage.setItem(STORAGE_KEY, JSON.stringify(state.conversations));
}

/** 16 hex digits. getRandomValues, unlike randomUUID, also works when the page is served over plain http to another machine. */
function newConversationId() {
  return [...crypto.getRandomValues(new Uint8Array(8))].map((byte) => byte.toString(16).padStart(2, '0')).join('');
}

function renderConversationPicker() {
  ui.conversationSelect.replaceChildren(
    ...state.conversations.map((c) => el('option', { value: c.id, selected: c.id === state.current }, c.title)),
  );
}

function switchConversation(id) {
  if (id === state.current) return;
  send({ type: 'leave', conversation: state.current });
  state.current = id;
  state.streams.clear();
  state.traces.clear();
  state.follow = true;
  ui.messages.replaceChildren();
  showTrace(undefined);
  renderConversationPicker();
  send({ type: 'join', conversation: id });
}

// ---------- connection ----------

function connect() {
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws${token ? `?token=${encodeURIComponent(token)}` : ''}`;
  const socket = new WebSocket(url);
  let opened = false;
  state.socket = socket;
  setConnection('connecting', 'connecting…');
  socket.addEventListener('open', () => {
    opened = true;
    state.retryMs = 500;
    setConnection('online', 'connected');
  });
  socket.addEventListener('message', (event) => {
    let frame;
    try {
      frame = JSON.parse(event.data);
    } catch (error) {
      console.error('banter: unreadable frame from the server', error);
      return;
    }
    onFrame(frame);
  });
  socket.addEventListener('close', (event) => {
    state.socket = undefined;
    removeProgress();
    if (event.code === 1009) {
      showNotice(`That message was larger than the server accepts (${state.maxFrameBytes} bytes); the connection was reset.`);
    } else if (!opened) {
      // A refused upgrade (missing or wrong token) looks like any failed connection from here.
      showNotice('Cannot reach the chat server: is the bot running, and is the ?token= in the address right?');
    }
    setConnection('offline', 'reconnecting…');
    setTimeout(connect, state.retryMs);
    state.retryMs = Math.min(state.retryMs * 2, 10_000);
  });
}

function send(frame) {
  const data = JSON.stringify(frame);
  if (state.maxFrameBytes && new TextEncoder().encode(data).length > state.maxFrameBytes) {
    showNotice(`That message is too long: the server accepts at most ${state.maxFrameBytes} bytes per message.`);
    return false;
  }
  if (!state.socket || state.socket.readyState !== WebSocket.OPEN) {
    showNotice('Not connected yet; try again in a moment.');
    return false;
  }
  state.socket.send(data);
  return true;
}

function setConnection(kind, text) {
  ui.connection.dataset.state = kind;
  ui.connection.textContent = text;
}

// ---------- frames from the server ----------

function onFrame(frame) {
  if (frame.type === 'welcome') return onWelcome(frame);
  if (frame.type === 'error') {
    removeProgress();
    return showNotice(frame.message);
  }
  if (frame.conversation !== state.current) return;
  switch (frame.type) {
    case 'conversation':
      return onConversation(frame);
    case 'user':
      return onUser(frame);
    case 'waiting':
      return state.streams.size > 0 ? undefined : showProgress('waiting');
    case 'stage':
      // A reply already streaming shows its own progress.
      return state.streams.size > 0 ? undefined : showProgress(frame.stage);
    case 'reply-start':
      return onReplyStart(frame);
    case 'reply-chunk':
      return onReplyChunk(frame);
    case 'reply-end':
      return onReplyEnd(frame);
    case 'trace':
      return onTrace(frame.trace);
    case 'feedback':
      return onFeedback(frame);
    default:
      console.warn('banter: unknown frame', frame.type);
  }
}

function onWelcome(frame) {
  state.maxFrameBytes = frame.maxFrameBytes;
  ui.botName.textContent = frame.bot === 'banter' ? '' : `· ${frame.bot}`;
  document.title = `${frame.bot} · banter`;
  ui.presetSelect.replaceChildren(
    ...frame.presets.map((p) => el('option', { value: p.name, title: p.description ?? '' }, p.name)),
  );
  ui.presetSelect.disabled = frame.presets.length === 0;
  hideNotice();
  renderConversationPicker();
  send({ type: 'join', conversation: state.current });
}

function onConversation(frame) {
  ui.presetSelect.value = frame.preset;
  ui.messages.dataset.preset = frame.preset;
  const expected = [
    ...frame.greeting.map((turn) => `greeting ${turn.role}: ${turn.text}`),
    ...frame.history.map((turn) => `${turn.role}: ${turn.text}`),
  ];
  const rendered = [...ui.messages.querySelectorAll('.msg.user:not(.command), .msg.bot')].map(
    (node) => `${node.classList.contains('greeting') ? 'greeting ' : ''}${node.classList.contains('user') ? 'user' : 'bot'}: ${node.querySelector('.text')?.textContent ?? ''}`,
  );
  if (rendered.length === expected.length && rendered.every((line, i) => line === expected[i])) return;
  // History changed under us (join, reset, preset switch): redraw it, keeping the notes that explain why.
  const trailingNotes = [];
  for (let node = ui.messages.lastElementChild; node?.classList.contains('system'); node = node.previousElementSibling) {
    trailingNotes.unshift(node);
  }
  ui.messages.replaceChildren();
  state.streams.clear();
  // The traces belong to turns no longer on screen.
  state.traces.clear();
  state.follow = true;
  showTrace(undefined);
  // The notes first: they say what just happened (a preset switch, a reset) to what follows.
  ui.messages.append(...trailingNotes);
  // The preset's greeting pre-conditions every prompt; showing it tells the user who they talk to.
  for (const turn of frame.greeting) appendMessage(turn.role, turn.text).classList.add('greeting');
  for (const turn of frame.history) appendMessage(turn.role, turn.text);
  scrollToEnd();
}

function onUser(frame) {
  const bubble = appendMessage('user', frame.text);
  // Commands are not kept in the history, so they must not count when comparing with it.
  if (frame.text.trim().startsWith('/')) bubble.classList.add('command');
}

/** A one-candidate reply starts streaming: its sentences follow, each checked by the bot's plugins before it was sent. */
function onReplyStart(frame) {
  removeProgress();
  const bubble = appendMessage('bot', '');
  bubble.classList.add('streaming');
  state.streams.set(frame.streamId, bubble);
}

function onReplyChunk(frame) {
  const bubble = state.streams.get(frame.streamId);
  if (!bubble) return;
  bubble.querySelector('.text').textContent += frame.text;
  scrollToEnd();
}

function onReplyEnd(frame) {
  removeProgress();
  const bubble = state.streams.get(frame.streamId) ?? appendMessage(frame.kind === 'command' ? 'system' : 'bot', '');
  state.streams.delete(frame.streamId);
  bubble.classList.remove('streaming');
  bubble.classList.add('done', `kind-${frame.kind}`);
  bubble.dataset.kind = frame.kind;
  if (frame.turnId) bubble.dataset.turnId = frame.turnId;
  // The finished text is authoritative: it replaces what was streamed (a fallback replaces it all).
  bubble.querySelector('.text').textContent = frame.text;
  const notice = KIND_NOTICES[frame.kind];
  if (notice) bubble.prepend(el('div', { class: `kind-notice kind-${frame.kind}` }, notice));
  if (frame.citations.length > 0) {
    bubble.append(
      el('div', { class: 'citations' }, 'Sources: ', ...frame.citations.map((c, i) => [i > 0 ? ', ' : '', citationLink(c)]).flat()),
    );
  }
  if (bubble.dataset.turnId) {
    const button = el('button', { type: 'button', class: 'inspect', title: 'Show this turn in the inspector' }, 'Inspect');
    button.addEventListener('click', () => {
      state.follow = false;
      showTrace(bubble.dataset.turnId);
    });
    bubble.append(button);
  }
  if (frame.rateable && frame.turnId) bubble.append(feedbackControls(frame.turnId));
  scrollToEnd();
}

// ---------- feedback ----------

/** 👍/👎 under a reply; after either, an optional reason. The server's answer (a `feedback` frame) confirms it. */
function feedbackControls(turnId) {
  const rate = (rating, title) => {
    const button = el('button', { type: 'button', class: `rate rate-${rating}`, 'data-rating': rating, title, 'aria-label': title, 'aria-pressed': 'false' }, thumb(rating));
    button.addEventListener('click', () => {
      if (!send({ type: 'feedback', conversation: state.current, turnId, rating })) return;
      box.dataset.rating = rating;
      for (const other of box.querySelectorAll('button.rate')) other.setAttribute('aria-pressed', String(other === button));
      reason.hidden = false;
    });
    return button;
  };
  const input = el('input', { type: 'text', class: 'reason-text', maxlength: '500', placeholder: 'What made it good or bad? (optional)', 'aria-label': 'Reason (optional)' });
  const reason = el('form', { class: 'reason', hidden: true }, input, el('button', { type: 'submit' }, 'Send'));
  reason.addEventListener('submit', (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text || !box.dataset.rating) return;
    if (send({ type: 'feedback', conversation: state.current, turnId, rating: box.dataset.rating, reason: text })) reason.hidden = true;
  });
  const box = el(
    'div',
    { class: 'feedback', 'data-turn-id': turnId },
    rate('up', 'Good reply'),
    rate('down', 'Bad reply'),
    el('span', { class: 'feedback-note muted', role: 'status' }),
    reason,
  );
  return box;
}

/** A thumb drawn as SVG (no emoji font needed): up, or the same turned over for down. */
function thumb(rating) {
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.classList.add('thumb');
  const shape = document.createElementNS('http://www.w3.org/2000/svg', 'path');
  shape.setAttribute('d', 'M2 10h4v11H2zM8 10l4-7c1-1.2 3-.4 2.6 1.4L13.6 9H20c1.3 0 2.2 1.1 1.8 2.3l-2 8.2c-.2.9-1 1.5-1.9 1.5H8z');
  if (rating === 'down') shape.setAttribute('transform', 'rotate(180 12 12)');
  svg.append(shape);
  return svg;
}

function onFeedback(frame) {
  const box = ui.messages.querySelector(`.feedback[data-turn-id="${CSS.escape(frame.turnId)}"]`);
  if (!box) return;
  box.querySelector('.feedback-note').textContent = frame.message;
  box.classList.toggle('failed', !frame.ok);
  if (!frame.ok) return;
  // Another tab of this browser may have rated: show the rating the bot now has.
  box.dataset.rating = frame.rating;
  for (const button of box.querySelectorAll('button.rate')) button.setAttribute('aria-pressed', String(button.dataset.rating === frame.rating));
}

const KIND_NOTICES = {
  fallback: '⚠ Safety fallback: no candidate passed the filters, so the bot said its fallback line.',
  refusal: '✗ Refused: the message was not answered.',
  error: '⚠ Something went wrong answering this message (see the server log).',
  evidence: 'Answered from evidence: the bot quoted a retrieved passage instead of a generated candidate.',
};

function onTrace(trace) {
  state.traces.set(trace.turnId, trace);
  if (state.follow) showTrace(trace.turnId);
  else ui.followLatest.hidden = trace.turnId === state.shownTurn;
}

// ---------- chat pane ----------

function appendMessage(role, text) {
  const bubble = el('div', { class: `msg ${role}` }, el('div', { class: 'text' }, text));
  ui.messages.append(bubble);
  scrollToEnd();
  return bubble;
}

const STAGE_LABELS = {
  waiting: 'waiting for its turn',
  inspect: 'reading',
  prompt: 'building the prompt',
  generate: 'generating candidates',
  score: 'scoring',
  filter: 'filtering',
  select: 'choosing',
  finalize: 'finishing',
};

function showProgress(stage) {
  let node = ui.messages.querySelector('.progress');
  if (!node) {
    node = el('div', { class: 'msg progress' });
    ui.messages.append(node);
  }
  node.textContent = `${STAGE_LABELS[stage] ?? stage}…`;
  scrollToEnd();
}

function removeProgress() {
  ui.messages.querySelector('.progress')?.remove();
}

function scrollToEnd() {
  ui.messages.scrollTop = ui.messages.scrollHeight;
}

function showNotice(text) {
  ui.notice.textContent = text;
  ui.notice.hidden = false;
}

function hideNotice() {
  ui.notice.hidden = true;
}

function citationLink(citation) {
  const safe = /^https?:\/\//i.test(citation.url);
  return el('a', safe ? { href: citation.url, target: '_blank', rel: 'noopener noreferrer' } : {}, citation.title || citation.url);
}

// ---------- inspector pane ----------

function showTrace(turnId) {
  const trace = turnId ? state.traces.get(turnId) : undefined;
  for (const node of ui.messages.querySelectorAll('.msg.inspected')) node.classList.remove('inspected');
  ui.followLatest.hidden = state.follow || turnId === [...state.traces.keys()].at(-1);
  if (!trace) {
    state.shownTurn = '';
    ui.inspectorEmpty.hidden = false;
    ui.inspectorBody.replaceChildren();
    return;
  }
  state.shownTurn = turnId;
  ui.messages.querySelector(`.msg[data-turn-id="${CSS.escape(turnId)}"]`)?.classList.add('inspected');
  ui.inspectorEmpty.hidden = true;
  ui.inspectorBody.replaceChildren(
    renderSummary(trace),
    section(`Candidates (${trace.candidates.length})`, renderCandidates(trace), 'candidates-section'),
    section('Timings', renderTimings(trace), 'timings-section'),
    section('Prompt as the model saw it', renderPrompt(trace), 'prompt-section'),
    section(`Evidence (${trace.evidence.length})`, renderEvidence(trace), 'evidence-section'),
    section('Decoding', renderDecoding(trace), 'decoding-section', false),
  );
  ui.inspector.hidden = false;
  ui.toggleInspector.setAttribute('aria-pressed', 'true');
}

function renderSummary(trace) {
  const reply = trace.reply;
  return el(
    'div',
    { class: 'summary' },
    el(
      'div',
      { class: 'summary-line' },
      el('span', { class: 'pill' }, trace.preset),
      reply ? el('span', { class: `pill kind kind-${reply.kind}` }, reply.kind) : null,
      el('span', { class: 'muted' }, trace.ms !== undefined ? `${formatMs(trace.ms)} total` : ''),
      el('span', { class: 'muted' }, `prompt ${trace.promptTokenCount} tokens`),
    ),
    el('div', { class: 'said' }, el('span', { class: 'muted' }, 'You: '), trace.message),
    reply ? el('div', { class: 'said' }, el('span', { class: 'muted' }, 'Bot: '), reply.text) : null,
    reply && KIND_NOTICES[reply.kind] ? el('div', { class: `kind-notice kind-${reply.kind}` }, KIND_NOTICES[reply.kind]) : null,
    trace.error ? el('div', { class: 'error-line' }, `Turn failed: ${trace.error}`) : null,
  );
}

function renderCandidates(trace) {
  if (trace.candidates.length === 0) return el('p', { class: 'muted' }, 'No candidates: this turn was answered without generating.');
  // The core files the forward log-probs under scores too (so they can be weighted); they have their own columns.
  const scoreKeys = [...new Set(trace.candidates.flatMap((c) => Object.keys(c.scores)))]
    .filter((key) => key !== 'logprob' && key !== 'avgLogprob')
    .sort(compareScoreKeys);
  const head = el(
    'tr',
    {},
    el('th', { class: 'num', title: 'Candidate index, as in the core\'s notes' }, '#'),
    el('th', {}, 'Candidate'),
    el('th', { class: 'num', title: 'Summed log-probability under the forward model' }, 'logprob'),
    el('th', { class: 'num', title: 'Mean log-probability per token' }, 'avg'),
    ...scoreKeys.map((key) => el('th', { class: 'num score', title: key }, ...breakAtDots(key))),
    el('th', { class: 'num', title: 'Weighted sum of the scores, used to choose' }, 'total'),
  );
  const rows = trace.candidates.map((c, i) => {
    const chosen = i === trace.chosen;
    return el(
      'tr',
      { class: [chosen ? 'chosen' : '', c.rejected ? 'rejected' : ''].join(' ').trim(), 'data-index': String(i) },
      el('td', { class: 'num' }, String(i)),
      el(
        'td',
        { class: 'cand-text' },
        el('span', { class: 'cand' }, c.text || '(empty)'),
        el('span', { class: 'tokens' }, ` · ${c.tokenCount} tok`),
        chosen ? el('div', { class: 'status chosen-badge' }, '✓ chosen') : null,
        c.rejected ? el('div', { class: 'status reason' }, `✗ rejected by ${c.rejected.by}: ${c.rejected.reason}`) : null,
      ),
      el('td', { class: 'num' }, formatScore(c.logprob)),
      el('td', { class: 'num' }, formatScore(c.avgLogprob)),
      ...scoreKeys.map((key) => el('td', { class: 'num score', 'data-score': key }, key in c.scores ? formatScore(c.scores[key]) : '–')),
      el('td', { class: 'num total' }, c.total === undefined ? '–' : formatScore(c.total)),
    );
  });
  return el('div', { class: 'table-wrap' }, el('table', { class: 'candidates' }, el('thead', {}, head), el('tbody', {}, ...rows)));
}

/** `safety.toxicity` may wrap after its dot, keeping score columns narrow. */
function breakAtDots(key) {
  return key.split('.').flatMap((part, i) => (i === 0 ? [part] : [el('wbr', {}), `.${part}`]));
}

/** MMI first, then safety rules, grounding, and the rest, each group alphabetical. */
function compareScoreKeys(a, b) {
  const rank = (key) => (key === 'mmi' ? 0 : key.startsWith('safety') ? 1 : key.startsWith('grounding') ? 2 : 3);
  return rank(a) - rank(b) || a.localeCompare(b);
}

function renderTimings(trace) {
  if (trace.timings.length === 0) return el('p', { class: 'muted' }, 'No stages ran.');
  const longest = Math.max(...trace.timings.map((t) => t.ms), 0.001);
  return el(
    'table',
    { class: 'timings' },
    el(
      'tbody',
      {},
      ...trace.timings.map((t) =>
        el(
          'tr',
          {},
          el('td', { class: 'stage' }, t.stage),
          el('td', { class: 'by' }, t.by),
          el('td', { class: 'bar-cell' }, bar(t.ms / longest)),
          el('td', { class: 'num' }, formatMs(t.ms)),
          el('td', { class: 'note muted' }, t.note ?? ''),
        ),
      ),
    ),
  );
}

/** A proportional bar; sized through CSSOM because the page's CSP forbids inline style attributes. */
function bar(fraction) {
  const node = el('div', { class: 'bar' });
  node.style.width = `${Math.max(1, fraction * 100).toFixed(1)}%`;
  return node;
}

function renderPrompt(trace) {
  const { persona, knowledge, history } = trace.prompt;
  return el(
    'div',
    { class: 'prompt' },
    el('h4', {}, `Persona (${persona.length})`),
    persona.length ? el('ul', {}, ...persona.map((line) => el('li', {}, line))) : el('p', { class: 'muted' }, 'none'),
    el('h4', {}, `Knowledge (${knowledge.length})`),
    knowledge.length ? el('ul', {}, ...knowledge.map((line) => el('li', {}, line))) : el('p', { class: 'muted' }, 'none'),
    el('h4', {}, `History (${history.length} ${history.length === 1 ? 'turn' : 'turns'})`),
    history.length
      ? el('ol', { class: 'history' }, ...history.map((t) => el('li', { class: t.role }, el('b', {}, t.role === 'user' ? 'user: ' : 'bot: '), t.text)))
      : el('p', { class: 'muted' }, 'none'),
  );
}

function renderEvidence(trace) {
  if (trace.evidence.length === 0) return el('p', { class: 'muted' }, 'No evidence retrieved for this turn.');
  return el(
    'ol',
    { class: 'evidence' },
    ...trace.evidence.map((e) =>
      el('li', {}, citationLink(e), el('span', { class: 'muted' }, ` score ${formatScore(e.score)}`), el('div', { class: 'snippet' }, e.text)),
    ),
  );
}

function renderDecoding(trace) {
  return el(
    'dl',
    { class: 'decoding' },
    ...Object.entries(trace.decoding).flatMap(([key, value]) => [el('dt', {}, key), el('dd', {}, String(value))]),
  );
}

function section(title, body, className, open = true) {
  return el('details', { class: `section ${className}`, open }, el('summary', {}, title), body);
}

function formatScore(value) {
  if (typeof value === 'string') return value === '-Infinity' ? '−∞' : value === 'Infinity' ? '∞' : value;
  if (typeof value !== 'number') return '–';
  return value.toFixed(Math.abs(value) >= 100 ? 1 : 3);
}

function formatMs(ms) {
  if (ms < 0.05) return '<0.1 ms';
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms < 10 ? 1 : 0)} ms`;
}

/** Builds an element; text children become text nodes (never HTML), null children are skipped. */
function el(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === undefined) continue;
    if (name === 'selected' || name === 'open' || name === 'hidden') node[name] = Boolean(value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === '') continue;
    node.append(child);
  }
  return node;
}

// ---------- controls ----------

ui.composer.addEventListener('submit', (event) => {
  event.preventDefault();
  const text = ui.input.value.trim();
  if (!text) return;
  if (send({ type: 'say', conversation: state.current, text })) {
    ui.input.value = '';
    hideNotice();
    const entry = state.conversations.find((c) => c.id === state.current);
    if (entry && /^Conversation \d+$/.test(entry.title) && !text.startsWith('/')) {
      entry.title = text.length > 32 ? `${text.slice(0, 31)}…` : text;
      saveConversations();
      renderConversationPicker();
    }
  }
});

ui.input.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    ui.composer.requestSubmit();
  }
});

ui.presetSelect.addEventListener('change', () => {
  send({ type: 'preset', conversation: state.current, name: ui.presetSelect.value });
});

ui.reset.addEventListener('click', () => {
  send({ type: 'reset', conversation: state.current });
});

ui.newConversation.addEventListener('click', () => {
  const entry = { id: newConversationId(), title: `Conversation ${state.conversations.length + 1}` };
  state.conversations.unshift(entry);
  saveConversations();
  switchConversation(entry.id);
});

ui.conversationSelect.addEventListener('change', () => switchConversation(ui.conversationSelect.value));

ui.toggleInspector.addEventListener('click', () => {
  ui.inspector.hidden = !ui.inspector.hidden;
  ui.toggleInspector.setAttribute('aria-pressed', String(!ui.inspector.hidden));
});

ui.followLatest.addEventListener('click', () => {
  state.follow = true;
  const latest = [...state.traces.keys()].at(-1);
  showTrace(latest);
});

saveConversations();
renderConversationPicker();
connect();
