// The txbox dashboard page: plain DOM, uPlot for the charts. Every text from
// the server goes in through textContent, never as HTML.
;(() => {
  const meta = (name) => document.querySelector(`meta[name="${name}"]`).content
  const csrf = meta('txbox-csrf')
  const allowChanges = meta('txbox-allow-changes') === 'true'
  const $ = (id) => document.getElementById(id)
  const REFRESH_MS = 10_000
  const PAGE_SIZE = 50
  const COLORS = ['#2f6fb3', '#d9822b', '#3a9d5d', '#b8443b', '#7b5ea7', '#8c6d46', '#d36fa8', '#5f7380']

  async function api(path, init) {
    const response = await fetch(`api/${path}`, { credentials: 'same-origin', ...init })
    const body = await response.json().catch(() => ({}))
    if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`)
    return body
  }

  function cell(row, text, className) {
    const td = document.createElement('td')
    td.textContent = text
    if (className) td.className = className
    row.appendChild(td)
    return td
  }

  function age(ms) {
    if (ms < 1000) return `${Math.round(ms)} ms`
    const s = Math.floor(ms / 1000)
    if (s < 60) return `${s} s`
    const m = Math.floor(s / 60)
    if (m < 60) return `${m} min ${s % 60} s`
    return `${Math.floor(m / 60)} h ${m % 60} min`
  }

  const when = (iso) => (iso ? new Date(iso).toLocaleString() : '–')

  // ---- overview: topics and relays
  async function loadOverview() {
    const o = await api('overview')
    $('mode').textContent = o.allowChanges ? 'changes allowed' : 'read-only'
    $('mode').className = o.allowChanges ? 'badge' : 'badge read-only'
    $('updated').textContent = `sampled ${new Date(o.sampledAt).toLocaleTimeString()}`
    const topics = $('topics').tBodies[0]
    topics.replaceChildren()
    for (const t of o.topics) {
      const tr = topics.insertRow()
      tr.dataset.topic = t.topic
      cell(tr, t.topic)
      cell(tr, t.waiting.toLocaleString(), 'n waiting')
      cell(tr, t.oldestAgeMs > 0 ? age(t.oldestAgeMs) : '–', t.oldestAgeMs > 60_000 ? 'n late' : 'n')
      cell(tr, t.retrying.toLocaleString(), 'n')
      cell(tr, t.delayed.toLocaleString(), 'n')
      cell(tr, t.dead.toLocaleString(), 'n dead')
    }
    if (o.topics.length === 0) cell(topics.insertRow(), 'the outbox and the dead letters are empty').colSpan = 6
    const relays = $('relays').tBodies[0]
    relays.replaceChildren()
    for (const r of o.relays) {
      const tr = relays.insertRow()
      tr.className = 'relay'
      cell(tr, r.application || '(none)')
      cell(tr, r.clientAddress ?? 'local socket')
      cell(tr, r.user)
      cell(tr, String(r.sessions), 'n')
      cell(tr, r.listening ? 'yes' : 'no (polling)')
      cell(tr, when(r.since), 'time')
      cell(tr, r.active ? 'running now' : when(r.lastStatementAt), 'time')
    }
    if (o.relays.length === 0) cell(relays.insertRow(), 'no relay session seen').colSpan = 7
  }

  // ---- charts
  const charts = {}
  function chart(id, series, data) {
    const el = $(id)
    const width = Math.max(320, el.clientWidth || 420)
    const opts = {
      width,
      height: 200,
      series: [{}, ...series.map((label, i) => ({ label, stroke: COLORS[i % COLORS.length], width: 1.5, spanGaps: true }))],
      // Always the last hour: uPlot would stretch one point over years.
      scales: { x: { time: true, range: () => [Date.now() / 1000 - 3600, Date.now() / 1000] }, y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] } },
      axes: [{}, { size: 60 }],
      legend: { live: false },
    }
    charts[id]?.destroy()
    charts[id] = new uPlot(opts, data, el)
  }

  // The server sends each chart's lines (the topics largest now, at most eight), one value per point.
  async function loadHistory() {
    const h = await api('history')
    const xs = h.at.map((at) => at / 1000)
    chart('chart-backlog', h.backlog.map((l) => l.topic), [xs, ...h.backlog.map((l) => l.values)])
    chart('chart-age', h.age.map((l) => l.topic), [xs, ...h.age.map((l) => l.values.map((ms) => ms / 1000))])

    // Per minute over the hour, all topics: published (from the relays when given, else PostgreSQL's statistics), failed, dead-lettered.
    const now = Math.floor(Date.now() / 60_000) * 60_000
    const minutes = Array.from({ length: 60 }, (_, i) => now - (59 - i) * 60_000)
    const index = new Map(minutes.map((m, i) => [m, i]))
    const bucket = (at) => index.get(Math.floor(at / 60_000) * 60_000)
    const published = new Array(60).fill(null)
    const failed = new Array(60).fill(null)
    for (const [p, at] of h.at.entries()) {
      const i = bucket(at)
      if (i === undefined) continue
      if (h.perTopicCounts) {
        published[i] = (published[i] ?? 0) + h.relayPublished[p]
        failed[i] = (failed[i] ?? 0) + h.relayFailed[p]
      } else if (h.published[p] !== null) {
        published[i] = (published[i] ?? 0) + h.published[p]
      }
    }
    const dead = new Array(60).fill(0)
    for (const d of h.deadPerMinute) {
      const i = bucket(d.minute)
      if (i !== undefined) dead[i] += d.n
    }
    $('rate-caption').textContent = h.perTopicCounts
      ? 'Per minute: published, failed (from the relays), dead-lettered'
      : 'Per minute: published (all topics, from PostgreSQL statistics), dead-lettered'
    const series = h.perTopicCounts ? ['published', 'failed', 'dead-lettered'] : ['published', 'dead-lettered']
    const data = h.perTopicCounts ? [published, failed, dead] : [published, dead]
    chart('chart-rate', series, [minutes.map((m) => m / 1000), ...data])
  }

  // ---- dead letters
  let filter = {}
  let pages = [undefined] // cursors of the pages seen: the newest has none
  let next = null

  function query() {
    const q = new URLSearchParams({ limit: String(PAGE_SIZE) })
    for (const [k, v] of Object.entries(filter)) if (v) q.set(k, v)
    const before = pages[pages.length - 1]
    if (before) q.set('before', before)
    return q
  }

  async function loadDead() {
    const page = await api(`dead-letters?${query()}`)
    next = page.next
    $('dead-total').textContent = `(${page.total.toLocaleString()}${page.capped ? '+' : ''} matching)`
    const body = $('dead').tBodies[0]
    body.replaceChildren()
    $('dead-all').checked = false
    for (const d of page.rows) {
      const tr = body.insertRow()
      tr.className = 'dead-row'
      tr.dataset.id = d.id
      tr.dataset.messageId = d.messageId
      const box = document.createElement('input')
      box.type = 'checkbox'
      box.setAttribute('aria-label', `select ${d.messageId}`)
      tr.insertCell().appendChild(box)
      cell(tr, when(d.deadAt), 'time')
      cell(tr, d.topic)
      cell(tr, d.key ?? '–')
      cell(tr, d.messageId, 'message-id')
      cell(tr, String(d.attempts), 'n')
      cell(tr, d.lastError ?? '', 'error').title = d.lastError ?? ''
      cell(tr, d.payloadPreview, 'payload')
    }
    if (page.rows.length === 0) cell(body.insertRow(), 'no dead letter matches').colSpan = 8
    $('dead-next').disabled = next === null
    $('dead-first').disabled = pages.length === 1
  }

  async function showDetail(id) {
    const d = await api(`dead-letters/${id}`)
    const detail = $('dead-detail')
    detail.hidden = false
    detail.textContent = JSON.stringify(
      { messageId: d.messageId, topic: d.topic, key: d.key, attempts: d.attempts, createdAt: d.createdAt, deadAt: d.deadAt, lastError: d.lastError, headers: d.headers, payload: d.payload },
      null,
      2,
    )
  }

  function toIso(local) {
    return local ? new Date(local).toISOString() : ''
  }

  async function change(action, scope) {
    const outcome = $('dead-outcome')
    let body
    if (scope === 'selection') {
      const ids = [...document.querySelectorAll('#dead tbody tr.dead-row input:checked')].map((box) => box.closest('tr').dataset.id)
      if (ids.length === 0) return void (outcome.textContent = 'select dead letters first')
      body = { action, deadIds: ids }
    } else {
      const words = Object.entries(filter).filter(([, v]) => v).map(([k, v]) => `${k}=${v}`).join(', ') || 'no filter: EVERY dead letter'
      if (!window.confirm(`${action} all dead letters matching (${words})?`)) return
      body = { action, filter }
    }
    if (action === 'purge' && scope === 'selection' && !window.confirm(`purge ${body.deadIds.length} dead letter(s) for good?`)) return
    try {
      const r = await api('dead-letters/changes', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-txbox-csrf': csrf },
        body: JSON.stringify(body),
      })
      outcome.textContent = `${r.action === 'retry' ? 'retried' : 'purged'} ${r.done} of ${r.selected} dead letter(s)${r.kept.length ? `; kept (message id in the outbox): ${r.kept.join(', ')}` : ''}`
    } catch (error) {
      outcome.textContent = `refused: ${error.message}`
    }
    pages = [undefined]
    await Promise.all([showDead(), loadOverview()])
  }

  $('dead-filter').addEventListener('submit', (event) => {
    event.preventDefault()
    const f = new FormData(event.target)
    // Topic and key match exactly, as they were enqueued: spaces at their ends are part of them.
    filter = { topic: f.get('topic'), key: f.get('key'), error: f.get('error').trim(), from: toIso(f.get('from')), to: toIso(f.get('to')) }
    pages = [undefined]
    void showDead()
  })
  $('dead-next').addEventListener('click', () => {
    if (next === null) return
    pages.push(next)
    void showDead()
  })
  $('dead-first').addEventListener('click', () => {
    pages = [undefined]
    void showDead()
  })
  $('dead-all').addEventListener('change', (event) => {
    for (const box of document.querySelectorAll('#dead tbody input[type=checkbox]')) box.checked = event.target.checked
  })
  $('dead').tBodies[0].addEventListener('click', (event) => {
    const row = event.target.closest('tr.dead-row')
    if (row && event.target.tagName !== 'INPUT') void showDetail(row.dataset.id).catch(report)
  })
  for (const button of document.querySelectorAll('#dead-actions button')) {
    if (!allowChanges) {
      button.disabled = true
      button.title = 'read-only: start the dashboard with --allow-changes'
    }
    button.addEventListener('click', () => void change(button.dataset.action, button.dataset.scope).catch(report))
  }

  function report(error) {
    $('updated').textContent = `error: ${error.message}`
  }

  // A list that failed to load (the database did not answer) is loaded again by the next refresh that works.
  let deadFailed = false
  function showDead() {
    return loadDead().then(
      () => {
        deadFailed = false
      },
      (error) => {
        deadFailed = true
        report(error)
      },
    )
  }

  async function refresh() {
    try {
      await Promise.all([loadOverview(), loadHistory()])
    } catch (error) {
      return report(error)
    }
    if (deadFailed) await showDead()
  }
  Promise.all([refresh(), showDead()]).then(() => {
    // For the load-time measurement: ms from navigation start to data shown.
    document.body.dataset.loadedAfterMs = String(Math.round(performance.now()))
    document.body.dataset.loaded = 'true'
  })
  setInterval(refresh, REFRESH_MS)
})()
