// The tablet app's words: Chinese by default, English on request. Keys are English phrases,
// so a missing Chinese entry still shows something readable.

const ZH = {
  'Suijian': '随检',
  'Field inspection': '掌上执法',
  'Online': '在线',
  'Offline': '离线',
  'Syncing…': '正在同步…',
  '{n} waiting to sync': '{n} 项待同步',
  'All synced': '已全部同步',
  'Tasks': '任务',
  'Credential': '亮证',
  'Sync': '同步',
  'Sign out': '退出',
  'English': 'English',
  '中文': '中文',
  // sign in
  'Sign in': '登录',
  'Username': '用户名',
  'Password': '密码',
  'Signing in…': '正在登录…',
  'Signing in needs the network.': '登录需要联网。',
  'Only inspectors use the tablet app.': '平板应用仅供执法检查人员使用。',
  'Your sign-in has expired. Sign in again; nothing waiting to sync is lost.':
    '登录已过期，请重新登录；待同步的记录不会丢失。',
  '{n} changes by {user} have not been synced. Signing in as someone else discards them. Continue?':
    '{user} 还有 {n} 项记录未同步，换人登录将丢弃这些记录。是否继续？',
  '{n} changes have not been synced yet. Sign out and discard them?':
    '还有 {n} 项记录未同步。确定退出并丢弃吗？',
  'Sign out of this tablet?': '确定退出登录吗？',
  // tasks
  'My tasks': '我的任务',
  'Refresh': '刷新',
  'No tasks yet.': '暂无任务。',
  'Tasks are loaded when the tablet is online.': '平板联网后会自动加载任务。',
  'Last updated {time}': '更新于 {time}',
  'Due {date}': '截止 {date}',
  'open': '待检查',
  'in_progress': '检查中',
  'done': '已完成',
  'cancelled': '已取消',
  'finished': '已完成',
  'Lead': '主检',
  'Member': '协检',
  'lead': '主检',
  'member': '协检',
  'Finished here, waiting to sync': '已完成，待同步',
  'In progress here': '本机检查中',
  'Overdue': '已逾期',
  // task detail
  'Back': '返回',
  'This task is no longer assigned to you.': '该任务已不再分配给您。',
  'Enterprise': '检查对象',
  'USCC': '统一社会信用代码',
  'Address': '地址',
  'Legal representative': '法定代表人',
  'Location': '位置',
  'No location on record': '无登记位置',
  'Plan': '抽查计划',
  'Team': '检查组',
  'Checklist': '检查事项',
  'Legal basis': '依据',
  'Previous results': '以往检查结果',
  'None': '无',
  'no_problem': '未发现问题',
  'rectification_ordered': '发现问题，责令整改',
  'case_filed': '立案查处',
  'suspected_crime': '涉嫌犯罪，移送',
  '{n} findings': '{n} 个问题',
  // check-in
  'Check in': '签到',
  'Check in here': '现场签到',
  'Getting your position…': '正在定位…',
  'Position unavailable: {reason}': '无法获取位置：{reason}',
  'Allow location access to check in.': '请允许定位权限后再签到。',
  'You appear to be outside the enterprise': '当前位置不在检查对象附近',
  'You are {distance} from the enterprise (allowed {radius}). Say why you are checking in from here; supervisors will see it.':
    '您距检查对象约 {distance}（允许范围 {radius}）。请说明在此签到的原因，该签到将提交监管人员审核。',
  'The server places this check-in outside the enterprise. Say why; supervisors will see it.':
    '服务器判定本次签到位于检查对象范围之外，请说明原因，该签到将提交监管人员审核。',
  'Reason': '原因',
  'A reason is required.': '必须填写原因。',
  'Cancel': '取消',
  'Submit': '提交',
  'Confirm': '确定',
  'Checked in at {time}': '签到时间 {time}',
  'Accuracy ±{m} m': '精度 ±{m} 米',
  'inside': '范围内',
  'outside': '范围外',
  'uncertain': '无法确定',
  'no_location': '无登记位置',
  'Flagged to supervisors': '已提交监管审核',
  'Outside reason: {reason}': '异常原因：{reason}',
  'Distance {distance}': '距离 {distance}',
  '(checked on this tablet)': '（本机判断）',
  'Needs a reason': '需要填写原因',
  'Give the reason': '填写原因',
  // checklist
  'compliant': '符合',
  'non_compliant': '不符合',
  'not_applicable': '不适用',
  'Note': '备注',
  '{done} of {total} answered': '已检查 {done}/{total}',
  // findings
  'Findings': '发现的问题',
  'Add a finding': '记录问题',
  'Item': '检查事项',
  'Description': '问题描述',
  'Severity': '严重程度',
  'minor': '一般',
  'serious': '较重',
  'critical': '严重',
  'Evidence for this finding': '关联证据',
  'Describe the problem.': '请描述问题。',
  'No findings.': '未记录问题。',
  // evidence
  'Evidence': '现场取证',
  'Take a photo': '拍照取证',
  'Caption': '说明',
  'No evidence yet.': '尚未取证。',
  'Waiting to upload': '待上传',
  'Uploaded': '已上传',
  'Rejected by the server: {reason}': '服务器拒收：{reason}',
  'exif.consistent': '拍摄时间地点与签到一致',
  'exif.far': '拍摄地点远离签到位置',
  'exif.time_mismatch': '拍摄时间与检查时间不符',
  'exif.no_metadata': '照片无拍摄信息',
  // signature
  'Signature of the inspected party': '被检查方签名',
  'Signer name': '签名人姓名',
  'Signer role': '签名人身份',
  'Legal representative (role)': '法定代表人',
  'Person in charge': '负责人',
  'On-site manager': '现场负责人',
  'Other': '其他',
  'Sign here': '请在此处签名',
  'Clear': '清除',
  'Save signature': '确认签名',
  'Refused to sign': '拒绝签名',
  'Record the refusal': '记录拒签',
  'Draw the signature first.': '请先签名。',
  'Enter the signer\'s name.': '请填写签名人姓名。',
  'Signed by {name} ({role}) at {time}': '{name}（{role}）签名于 {time}',
  'The inspected party refused to sign ({time}).': '被检查方拒绝签名（{time}）。',
  'Sign again': '重新签名',
  // result
  'Result': '检查结果',
  'Rectification due': '整改期限',
  'Finish the inspection': '完成检查',
  'Answer every checklist item first ({n} left).': '请先完成全部检查事项（还有 {n} 项）。',
  'The signature (or the refusal) is missing.': '缺少被检查方签名（或拒签记录）。',
  'Choose the result.': '请选择检查结果。',
  'Set the rectification deadline.': '请填写整改期限。',
  'A problem result needs at least one finding.': '该检查结果需要至少记录一个问题。',
  'Findings were recorded: the result cannot be "no problem".': '已记录问题，检查结果不能为"未发现问题"。',
  'Finish now? The record cannot be changed afterwards.': '确定完成检查吗？完成后记录不可修改。',
  'Inspection finished at {time}.': '检查已于 {time} 完成。',
  'On-site record (PDF)': '现场检查笔录（PDF）',
  // sync screen
  'Sync status': '同步状态',
  'Sync now': '立即同步',
  'Waiting': '待同步',
  'Conflicts': '冲突',
  'Not accepted': '未被接受',
  'Nothing waiting.': '没有待同步的记录。',
  'Last sync {time}': '上次同步 {time}',
  'Never synced': '尚未同步',
  'Last error: {error}': '最近错误：{error}',
  'The server holds another version. Keep the server\'s version?':
    '服务器上已有不同版本的记录。是否以服务器版本为准？',
  'Use the server\'s version': '以服务器为准',
  'Dismiss': '知道了',
  'check-in': '签到',
  'answers': '检查单',
  'finding': '问题',
  'evidence': '证据',
  'signature': '签名',
  'result': '结果',
  'Network error': '网络错误',
  // credential
  'E-credential': '执法证件',
  'Show this code to the enterprise: scanning it checks the credential with the server.':
    '请向被检查方出示此码，扫码即可向服务器核验执法证件。',
  'Credential number': '执法证号',
  'Department': '执法部门',
  'Valid until': '有效期至',
  'Shown from this tablet\'s copy of {time}.': '显示的是本机于 {time} 保存的证件。',
  'The credential is loaded when the tablet is online.': '平板联网后会加载执法证件。',
  'A new version of the app is ready.': '应用已更新。',
  'Reload': '重新加载',
};

// English needs entries only where the key is not itself the English text.
const EN = {
  'exif.consistent': 'Taken where and when the check-in was',
  'exif.far': 'Taken far from the check-in',
  'exif.time_mismatch': 'Taken at another time than the inspection',
  'exif.no_metadata': 'No time or place in the photo',
  'Legal representative (role)': 'Legal representative',
  open: 'To inspect',
  in_progress: 'In progress',
  done: 'Done',
  cancelled: 'Cancelled',
  finished: 'Finished',
  lead: 'Lead',
  member: 'Member',
  inside: 'Inside',
  outside: 'Outside',
  uncertain: 'Uncertain',
  no_location: 'No location',
  compliant: 'Compliant',
  non_compliant: 'Non-compliant',
  not_applicable: 'Not applicable',
  minor: 'Minor',
  serious: 'Serious',
  critical: 'Critical',
  no_problem: 'No problem found',
  rectification_ordered: 'Problem found, rectification ordered',
  case_filed: 'Case filed',
  suspected_crime: 'Suspected crime, transferred',
  'check-in': 'Check-in',
  answers: 'Checklist',
  finding: 'Finding',
  evidence: 'Evidence',
  signature: 'Signature',
  result: 'Result',
};

const DICTIONARIES = { 'zh-CN': ZH, en: EN };
export const LOCALES = ['zh-CN', 'en'];
const STORAGE_KEY = 'suijian.tablet.locale';

let current = LOCALES.includes(localStorage.getItem(STORAGE_KEY))
  ? localStorage.getItem(STORAGE_KEY)
  : 'zh-CN';

export function locale() {
  return current;
}

export function setLocale(value) {
  current = LOCALES.includes(value) ? value : 'zh-CN';
  localStorage.setItem(STORAGE_KEY, current);
  document.documentElement.lang = current;
}

/** The phrase in the current language, with {name} placeholders filled from params. */
export function t(key, params = {}) {
  const text = DICTIONARIES[current][key] ?? key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

// People read times in Beijing time; the server stores UTC.
export function formatTime(iso) {
  if (!iso) return '';
  return new Intl.DateTimeFormat(current, {
    timeZone: 'Asia/Shanghai',
    year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit',
    hour12: false,
  }).format(new Date(iso));
}

export function formatDistance(metres) {
  if (metres == null || !Number.isFinite(metres)) return '—';
  if (metres >= 1000) return current === 'en' ? `${(metres / 1000).toFixed(2)} km` : `${(metres / 1000).toFixed(2)} 公里`;
  return current === 'en' ? `${Math.round(metres)} m` : `${Math.round(metres)} 米`;
}

/** Today's calendar date in Asia/Shanghai, as YYYY-MM-DD. */
export function shanghaiToday() {
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(new Date());
}

document.documentElement.lang = current;
