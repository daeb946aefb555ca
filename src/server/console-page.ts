// The operator console's HTML: server-rendered, one inline stylesheet and one small inline script
// (live import progress, webhook backlog, summary), nothing fetched from elsewhere but the friends'
// own LINE profile pictures. Every value from LINE or HubSpot is escaped.
import type { Friend, FriendsPage } from '../hubspot/friends.ts';

export type Lang = 'en' | 'ja';

const LABELS = {
  en: {
    title: 'LINE friends — operator console',
    signIn: 'Sign in',
    signInHint: 'Enter the admin token (ADMIN_TOKEN).',
    token: 'Admin token',
    wrongToken: 'That is not the admin token.',
    signOut: 'Sign out',
    friends: 'Friends',
    picture: 'Picture',
    name: 'Name',
    follow: 'Follow',
    createdVia: 'Created via',
    syncDate: 'First sync',
    lastMessage: 'Last message',
    story: 'Story',
    openStory: 'Temporal',
    all: 'All',
    following: 'Following (YES)',
    blocked: 'Blocked (NO)',
    search: 'Name contains',
    filter: 'Filter',
    clear: 'Clear',
    next: 'Next page →',
    first: '← First page',
    none: 'No friends match.',
    import: 'Import of existing friends',
    startImport: 'Start import',
    pageSize: 'IDs per page',
    cancelImport: 'Cancel import',
    noImport: 'No import has run yet.',
    state: 'State',
    seen: 'listed',
    handled: 'handled',
    created: 'created',
    updated: 'updated',
    unchanged: 'unchanged',
    skipped: 'skipped',
    failed: 'failed',
    webhook: 'Webhook',
    backlog: 'Backlog',
    importBacklog: 'Import rows waiting',
    applied: 'Applied',
    recentFailures: 'Recent failures',
    noFailures: 'No recent failures.',
    idle: 'idle (no writer running)',
    summary: 'Summary',
    total: 'LINE contacts',
    hubspotDown: 'HubSpot could not be read',
    noUi: 'set TEMPORAL_UI_URL for links',
  },
  ja: {
    title: 'LINE 友だち — 運用コンソール',
    signIn: 'サインイン',
    signInHint: '管理トークン (ADMIN_TOKEN) を入力してください。',
    token: '管理トークン',
    wrongToken: '管理トークンが違います。',
    signOut: 'サインアウト',
    friends: '友だち',
    picture: '画像',
    name: '名前',
    follow: 'フォロー',
    createdVia: '作成経路',
    syncDate: '初回同期日',
    lastMessage: '最新メッセージ',
    story: '履歴',
    openStory: 'Temporal',
    all: 'すべて',
    following: 'フォロー中 (YES)',
    blocked: 'ブロック (NO)',
    search: '名前に含む',
    filter: '絞り込み',
    clear: 'クリア',
    next: '次のページ →',
    first: '← 最初のページ',
    none: '該当する友だちはいません。',
    import: '既存の友だちのインポート',
    startImport: 'インポート開始',
    pageSize: '1ページのID数',
    cancelImport: 'インポート中止',
    noImport: 'まだインポートはありません。',
    state: '状態',
    seen: '取得',
    handled: '処理済み',
    created: '作成',
    updated: '更新',
    unchanged: '変更なし',
    skipped: 'スキップ',
    failed: '失敗',
    webhook: 'Webhook',
    backlog: '未処理',
    importBacklog: 'インポート待ち',
    applied: '反映済み',
    recentFailures: '最近の失敗',
    noFailures: '最近の失敗はありません。',
    idle: '待機中 (ライター停止中)',
    summary: '集計',
    total: 'LINE コンタクト',
    hubspotDown: 'HubSpot を読めませんでした',
    noUi: 'リンクには TEMPORAL_UI_URL を設定してください',
  },
} as const;

export type Labels = { [K in keyof (typeof LABELS)['en']]: string };
export const labelsFor = (lang: Lang): Labels => LABELS[lang];

/** `ja` or `en` from Accept-Language (by q-value; English when neither is asked for). */
export function languageOf(header: string | undefined): Lang {
  if (!header) return 'en';
  const ranked = header
    .split(',')
    .map((part, index) => {
      const [tag = '', ...params] = part.trim().split(';');
      const q = params.map((p) => /^\s*q=([0-9.]+)\s*$/.exec(p)?.[1]).find((v) => v !== undefined);
      return { tag: tag.trim().toLowerCase(), q: q === undefined ? 1 : Number(q), index };
    })
    .filter((l) => l.q > 0)
    .sort((a, b) => b.q - a.q || a.index - b.index);
  for (const { tag } of ranked) {
    if (tag === 'ja' || tag.startsWith('ja-')) return 'ja';
    if (tag === 'en' || tag.startsWith('en-')) return 'en';
  }
  return 'en';
}

export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const STYLE = `
*{box-sizing:border-box}body{font:14px/1.45 system-ui,-apple-system,"Hiragino Sans","Noto Sans JP",sans-serif;margin:0;color:#1d2330;background:#f5f6f8}
header{display:flex;align-items:center;gap:12px;padding:10px 20px;background:#06c755;color:#fff}header h1{font-size:17px;margin:0;flex:1}
header form{margin:0}main{padding:16px 20px;display:grid;gap:16px;grid-template-columns:minmax(0,1fr) 340px}
section{overflow-x:auto;background:#fff;border-radius:8px;padding:14px 16px;box-shadow:0 1px 2px #0001}h2{font-size:15px;margin:0 0 10px}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #eceef2;vertical-align:middle}
th{font-size:12px;color:#5b6475;font-weight:600}td.msg{max-width:240px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
img.pic{width:32px;height:32px;border-radius:50%;object-fit:cover;background:#dde}span.nopic{display:inline-flex;align-items:center;justify-content:center;width:32px;height:32px;border-radius:50%;background:#dde;color:#556;font-weight:600}
.tag{display:inline-block;padding:1px 7px;border-radius:9px;font-size:12px;background:#eef}.YES{background:#d9f7e5;color:#05743a}.NO{background:#fde2e2;color:#a12020}
form.filters{display:flex;gap:8px;align-items:center;margin-bottom:10px;flex-wrap:wrap}input,select,button{font:inherit;padding:5px 8px;border:1px solid #c8ccd4;border-radius:6px;background:#fff}
button{cursor:pointer}button:disabled{opacity:.4;cursor:default}td.date{white-space:nowrap}button.primary{background:#06c755;border-color:#06c755;color:#fff}button.danger{background:#fff;border-color:#d33;color:#d33}
.bar{height:14px;background:#eceef2;border-radius:7px;overflow:hidden;margin:8px 0}.bar>div{height:100%;background:#06c755;width:0;transition:width .2s}.controls{display:flex;gap:8px;margin-top:10px;flex-wrap:wrap;align-items:center;justify-content:space-between}.controls form{display:flex;gap:6px;margin:0}#import-page-size{width:120px}
.muted{color:#6b7385;font-size:12px}.pager{display:flex;gap:12px;margin-top:10px}dl{display:grid;grid-template-columns:auto 1fr;gap:2px 10px;margin:0}dt{color:#5b6475}dd{margin:0}
.signin{max-width:380px;margin:80px auto;background:#fff;padding:24px;border-radius:8px;box-shadow:0 1px 3px #0002}.signin input{width:100%;margin:8px 0}.error{color:#c22}
@media(max-width:900px){main{grid-template-columns:1fr}}`;

function page(lang: Lang, title: string, body: string, nonce: string, script = ''): string {
  return `<!doctype html><html lang="${lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body>${body}${script ? `<script nonce="${nonce}">${script}</script>` : ''}</body></html>`;
}

export function signInPage(lang: Lang, nonce: string, error?: boolean): string {
  const t = labelsFor(lang);
  return page(
    lang,
    t.title,
    `<form class="signin" method="post" action="/console/sign-in" id="signin"><h2>${escapeHtml(t.title)}</h2><p>${escapeHtml(t.signInHint)}</p>${error ? `<p class="error" id="signin-error">${escapeHtml(t.wrongToken)}</p>` : ''}<input type="text" name="username" value="operator" autocomplete="username" hidden><label>${escapeHtml(t.token)}<input type="password" name="token" autocomplete="current-password" required autofocus></label><button class="primary" type="submit">${escapeHtml(t.signIn)}</button></form>`,
    nonce,
  );
}

export interface ConsoleView {
  lang: Lang;
  nonce: string;
  filters: { follow?: string; q?: string };
  /** the friends page, or why it could not be read */
  friends: FriendsPage | { error: string };
  /** a friend's story in the Temporal UI; undefined: no TEMPORAL_UI_URL */
  storyUrl: ((userId: string) => string) | undefined;
  /** the channel shown in the title */
  channelId: string;
  /** true when the credentials came from the sign-in cookie (so a sign-out button makes sense) */
  cookieSession: boolean;
}

function friendRow(friend: Friend, view: ConsoleView, t: Labels): string {
  const initial = escapeHtml(Array.from(friend.name ?? '?')[0] ?? '?');
  const picture =
    friend.pictureUrl && /^https?:\/\//i.test(friend.pictureUrl)
      ? `<img class="pic" src="${escapeHtml(friend.pictureUrl)}" alt="${initial}" loading="lazy" referrerpolicy="no-referrer">`
      : `<span class="nopic">${initial}</span>`;
  const story = view.storyUrl
    ? `<a class="story" href="${escapeHtml(view.storyUrl(friend.userId))}" target="_blank" rel="noopener">${escapeHtml(t.openStory)}</a>`
    : `<span class="muted" title="${escapeHtml(t.noUi)}">LineUserId = "${escapeHtml(friend.userId)}"</span>`;
  const message = friend.lastMessage ?? '';
  return `<tr data-user-id="${escapeHtml(friend.userId)}"><td>${picture}</td><td class="name">${escapeHtml(friend.name ?? '')}<div class="muted">${escapeHtml(friend.userId)}</div></td><td><span class="tag ${escapeHtml(friend.follow ?? '')}">${escapeHtml(friend.follow ?? '—')}</span></td><td>${escapeHtml(friend.createdVia ?? '—')}</td><td class="date">${escapeHtml(friend.syncDate ?? '—')}</td><td class="msg" title="${escapeHtml(message)}">${escapeHtml(message)}${friend.lastMessageAt ? `<div class="muted">${escapeHtml(friend.lastMessageAt.replace('T', ' ').slice(0, 19))} UTC</div>` : ''}</td><td>${story}</td></tr>`;
}

export function consolePage(view: ConsoleView): string {
  const t = labelsFor(view.lang);
  const { follow = '', q = '' } = view.filters;
  const option = (value: string, label: string) => `<option value="${value}"${follow === value ? ' selected' : ''}>${escapeHtml(label)}</option>`;
  const query = (after?: string) => {
    const params = new URLSearchParams();
    if (follow) params.set('follow', follow);
    if (q) params.set('q', q);
    if (after) params.set('after', after);
    const text = params.toString();
    return `/console${text ? `?${text}` : ''}`;
  };
  let friendsHtml: string;
  if ('error' in view.friends) {
    friendsHtml = `<p class="error" id="friends-error">${escapeHtml(t.hubspotDown)}: ${escapeHtml(view.friends.error)}</p>`;
  } else {
    const rows = view.friends.friends.map((f) => friendRow(f, view, t)).join('');
    friendsHtml = rows
      ? `<table id="friends"><thead><tr><th>${t.picture}</th><th>${t.name}</th><th>${t.follow}</th><th>${t.createdVia}</th><th>${t.syncDate}</th><th>${t.lastMessage}</th><th>${t.story}</th></tr></thead><tbody>${rows}</tbody></table>`
      : `<p id="no-friends">${escapeHtml(t.none)}</p>`;
    const next = view.friends.next;
    friendsHtml += `<div class="pager"><a id="first-page" href="${escapeHtml(query())}">${escapeHtml(t.first)}</a>${next ? `<a id="next-page" href="${escapeHtml(query(next))}">${escapeHtml(t.next)}</a>` : ''}</div>`;
  }
  const body = `<header><h1>${escapeHtml(t.title)} <span class="muted" style="color:#e8ffe9">${escapeHtml(view.channelId)}</span></h1>${view.cookieSession ? `<form method="post" action="/console/sign-out"><button type="submit">${escapeHtml(t.signOut)}</button></form>` : ''}</header>
<main><section><h2>${escapeHtml(t.friends)}</h2>
<form class="filters" method="get" action="/console"><select name="follow" id="filter-follow">${option('', t.all)}${option('YES', t.following)}${option('NO', t.blocked)}</select><input type="search" name="q" id="filter-q" maxlength="100" placeholder="${escapeHtml(t.search)}" value="${escapeHtml(q)}"><button type="submit" id="filter-submit">${escapeHtml(t.filter)}</button><a href="/console">${escapeHtml(t.clear)}</a></form>
${friendsHtml}</section>
<div style="display:grid;gap:16px;align-content:start">
<section id="import"><h2>${escapeHtml(t.import)}</h2><div id="import-state" class="muted">…</div><div class="bar"><div id="import-bar"></div></div><dl id="import-counts"></dl>
<div class="controls"><form method="post" action="/console/import"><input type="number" name="pageSize" id="import-page-size" min="1" max="1000" placeholder="${escapeHtml(t.pageSize)}" title="${escapeHtml(t.pageSize)}"> <button class="primary" id="import-start" type="submit">${escapeHtml(t.startImport)}</button></form><form method="post" action="/console/import/cancel"><input type="hidden" name="importId" id="import-id" value=""><button class="danger" id="import-cancel" type="submit" disabled>${escapeHtml(t.cancelImport)}</button></form></div></section>
<section id="webhook"><h2>${escapeHtml(t.webhook)}</h2><dl><dt>${escapeHtml(t.backlog)}</dt><dd id="backlog">…</dd><dt>${escapeHtml(t.importBacklog)}</dt><dd id="import-backlog">…</dd><dt>${escapeHtml(t.applied)}</dt><dd id="applied">…</dd></dl><h2 style="margin-top:12px">${escapeHtml(t.recentFailures)}</h2><div id="failures" class="muted">…</div></section>
<section id="summary"><h2>${escapeHtml(t.summary)}</h2><div id="summary-body" class="muted">…</div></section>
</div></main>`;
  return page(view.lang, t.title, body, view.nonce, script(t));
}

/** Polls /console/status.json every second: import progress and the webhook's writers; the summary once. */
function script(t: Labels): string {
  const labels = JSON.stringify({
    created: t.created,
    updated: t.updated,
    unchanged: t.unchanged,
    skipped: t.skipped,
    failed: t.failed,
    seen: t.seen,
    handled: t.handled,
    noImport: t.noImport,
    state: t.state,
    noFailures: t.noFailures,
    idle: t.idle,
    total: t.total,
    follow: t.follow,
    createdVia: t.createdVia,
    hubspotDown: t.hubspotDown,
  }).replace(/</g, '\\u003c');
  return `(()=>{const L=${labels};const $=(id)=>document.getElementById(id);const esc=(s)=>String(s??'').replace(/[&<>"']/g,(c)=>({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;',"'":'&#39;'})[c]);
const dl=(pairs)=>pairs.map(([k,v])=>'<dt>'+esc(k)+'</dt><dd>'+esc(v)+'</dd>').join('');
function showImport(p){const bar=$('import-bar'),cancel=$('import-cancel');if(!p){$('import-state').textContent=L.noImport;bar.style.width='0';cancel.disabled=true;$('import-counts').innerHTML='';return;}
const handled=p.created+p.updated+p.unchanged+p.skipped+p.failed;const total=Math.max(p.friendsSeen,handled);const pct=p.state==='completed'?100:total?Math.round(handled/total*100):0;
bar.style.width=pct+'%';bar.parentElement.setAttribute('aria-valuenow',String(pct));bar.dataset.state=p.state;
$('import-state').textContent=L.state+': '+p.state+' · '+handled+' '+L.handled+' / '+p.friendsSeen+' '+L.seen+' · '+pct+'%';
$('import-counts').innerHTML=dl([[L.created,p.created],[L.updated,p.updated],[L.unchanged,p.unchanged],[L.skipped,p.skipped],[L.failed,p.failed]]);
$('import-id').value=p.importId;cancel.disabled=p.state!=='running';}
function showWriters(ws){const live=ws.filter((w)=>w.state);if(!live.length){$('backlog').textContent=L.idle;$('import-backlog').textContent='0';$('applied').textContent='—';$('failures').textContent=L.noFailures;return;}
const sum=(k)=>live.reduce((n,w)=>n+w.state[k],0);$('backlog').textContent=String(sum('backlog'));$('import-backlog').textContent=String(sum('importBacklog'));$('applied').textContent=String(sum('applied'));
const f=live.flatMap((w)=>w.state.recentFailures);$('failures').innerHTML=f.length?'<ul>'+f.slice(-10).reverse().map((x)=>'<li><code>'+esc(x.userId)+'</code> '+esc(x.reason)+'</li>').join('')+'</ul>':esc(L.noFailures);}
async function poll(){try{const r=await fetch('/console/status.json',{credentials:'same-origin',cache:'no-store'});if(r.ok){const s=await r.json();showImport(s.import);showWriters(s.writers);}}catch{}setTimeout(poll,1000);}
async function summary(){try{const r=await fetch('/console/summary.json',{credentials:'same-origin'});const s=await r.json();if(!r.ok)throw new Error(s.error);
const parts=(o)=>Object.entries(o).filter(([,n])=>n>0).map(([k,n])=>k+' '+n).join(', ')||'—';$('summary-body').innerHTML='<dl>'+dl([[L.total,s.total],[L.follow,parts(s.follow)],[L.createdVia,parts(s.createdVia)]])+'</dl>';}catch(e){$('summary-body').textContent=L.hubspotDown+': '+e.message;}}
for(const img of document.querySelectorAll('img.pic')){const swap=()=>{const s=document.createElement('span');s.className='nopic';s.textContent=img.alt;img.replaceWith(s);};if(img.complete&&img.naturalWidth===0)swap();else img.addEventListener('error',swap);}
poll();summary();})();`;
}
