# stackcast compiled template: sha256 16d807a19e4286cbd6c8e577cfee1fa09e76f13a666adbbd2defc6e0760896ce, jinja2 3.1.6
# Generated: do not edit; see stackcast.reports.templating.
from jinja2.runtime import LoopContext, Macro, Markup, Namespace, TemplateNotFound, TemplateReference, TemplateRuntimeError, Undefined, escape, identity, internalcode, markup_join, missing, str_join
name = '_run_details.html'

def root(context, missing=missing):
    resolve = context.resolve_or_missing
    undefined = environment.undefined
    concat = environment.concat
    cond_expr_undefined = Undefined
    if 0: yield None
    l_0_train_notes = resolve('train_notes')
    l_0_fig = resolve('fig')
    l_0_train_rows = resolve('train_rows')
    l_0_audit_rows = resolve('audit_rows')
    l_0_audit_columns = resolve('audit_columns')
    l_0_d = resolve('d')
    l_0_data_range_columns = resolve('data_range_columns')
    try:
        t_1 = environment.filters['dictsort']
    except KeyError:
        @internalcode
        def t_1(*unused):
            raise TemplateRuntimeError("No filter named 'dictsort' found.")
    try:
        t_2 = environment.filters['format']
    except KeyError:
        @internalcode
        def t_2(*unused):
            raise TemplateRuntimeError("No filter named 'format' found.")
    try:
        t_3 = environment.filters['num']
    except KeyError:
        @internalcode
        def t_3(*unused):
            raise TemplateRuntimeError("No filter named 'num' found.")
    try:
        t_4 = environment.tests['defined']
    except KeyError:
        @internalcode
        def t_4(*unused):
            raise TemplateRuntimeError("No test named 'defined' found.")
    try:
        t_5 = environment.tests['none']
    except KeyError:
        @internalcode
        def t_5(*unused):
            raise TemplateRuntimeError("No test named 'none' found.")
    pass
    yield '<section id="training">\n  <h2>Training</h2>\n'
    if (undefined(name='train_notes') if l_0_train_notes is missing else l_0_train_notes):
        pass
        yield '  <ul class="warnings" aria-label="training warnings">\n'
        for l_1_w in (undefined(name='train_notes') if l_0_train_notes is missing else l_0_train_notes):
            _loop_vars = {}
            pass
            yield '<li>'
            yield escape(l_1_w)
            yield '</li>'
        l_1_w = missing
        yield '  </ul>\n'
    if environment.getattr((undefined(name='fig') if l_0_fig is missing else l_0_fig), 'training'):
        pass
        yield '  <figure>\n    <div class="scroll"><img src="'
        yield escape(environment.getattr((undefined(name='fig') if l_0_fig is missing else l_0_fig), 'training'))
        yield '" alt="training loss and gradient norms per fold"></div>\n    <figcaption>Folds are laid end to end (dotted lines separate them).</figcaption>\n  </figure>\n'
    if (undefined(name='train_rows') if l_0_train_rows is missing else l_0_train_rows):
        pass
        yield '  <h3>Per fold</h3>\n  <div class="table-wrap">\n    <table>\n      <thead>\n        <tr>\n          <th>fold</th><th>epochs</th><th>final loss</th><th>best val_loss</th><th>best epoch</th>\n          <th>last lr</th><th>max grad norm</th><th class="l">layer</th>\n        </tr>\n      </thead>\n      <tbody>\n'
        for l_1_r in (undefined(name='train_rows') if l_0_train_rows is missing else l_0_train_rows):
            _loop_vars = {}
            pass
            yield '        <tr>\n          <td>'
            yield escape(environment.getattr(l_1_r, 'fold'))
            yield '</td>\n          <td>'
            yield escape(environment.getattr(l_1_r, 'epochs'))
            yield '</td>\n          <td>'
            yield escape(t_3(environment.getattr(l_1_r, 'final_loss'), 4))
            yield '</td>\n          <td>'
            yield escape(t_3(environment.getattr(l_1_r, 'best_val_loss'), 4))
            yield '</td>\n          <td>'
            yield escape((environment.getattr(l_1_r, 'best_epoch') if (not t_5(environment.getattr(l_1_r, 'best_epoch'))) else '—'))
            yield '</td>\n          <td>'
            yield escape((t_2('%.2g', environment.getattr(l_1_r, 'last_lr')) if (not t_5(environment.getattr(l_1_r, 'last_lr'))) else '—'))
            yield '</td>\n          <td>'
            yield escape((t_2('%.3g', environment.getattr(l_1_r, 'max_grad')) if (not t_5(environment.getattr(l_1_r, 'max_grad'))) else '—'))
            yield '</td>\n          <td class="l">'
            yield escape((environment.getattr(l_1_r, 'max_grad_layer') or '—'))
            yield '</td>\n        </tr>\n'
        l_1_r = missing
        yield '      </tbody>\n    </table>\n  </div>\n'
    elif (not environment.getattr((undefined(name='fig') if l_0_fig is missing else l_0_fig), 'training')):
        pass
        yield '  <p class="empty">No training history in this run.</p>\n'
    yield '</section>\n\n<section id="leakage">\n  <h2>Leakage audit</h2>\n'
    if (undefined(name='audit_rows') if l_0_audit_rows is missing else l_0_audit_rows):
        pass
        yield '  <p class="note">Per fold: the training origins, the range the scaler was fit on, the embargo and\n    the test origins. The check requires the scaler fit to lie inside the training range and\n    training to end before the first test origin. Folds are numbered from 1, oldest first, as in\n    the command line\'s log and the forecasts\' <code>fold</code> column.</p>\n  <h3>Folds</h3>\n  <div class="table-wrap">\n    <table>\n      <thead>\n        <tr>\n'
        l_1_loop = missing
        for l_1_c, l_1_loop in LoopContext((undefined(name='audit_columns') if l_0_audit_columns is missing else l_0_audit_columns), undefined):
            _loop_vars = {}
            pass
            yield '<th class="'
            yield escape(('l' if (not environment.getattr(l_1_loop, 'first')) else cond_expr_undefined("the inline if-expression on line 57 in '_run_details.html' evaluated to false and no else section was defined.")))
            yield '">'
            yield escape(l_1_c)
            yield '</th>'
        l_1_loop = l_1_c = missing
        yield '          <th class="l">check</th>\n        </tr>\n      </thead>\n      <tbody>\n'
        l_1_loop = missing
        for l_1_r, l_1_loop in LoopContext((undefined(name='audit_rows') if l_0_audit_rows is missing else l_0_audit_rows), undefined):
            _loop_vars = {}
            pass
            yield '        <tr>\n'
            l_2_loop = missing
            for l_2_v, l_2_loop in LoopContext(environment.getattr(l_1_r, 'cells'), undefined):
                _loop_vars = {}
                pass
                yield '<td class="'
                yield escape(('l' if (not environment.getattr(l_2_loop, 'first')) else cond_expr_undefined("the inline if-expression on line 64 in '_run_details.html' evaluated to false and no else section was defined.")))
                yield '">'
                yield escape((l_2_v if (not t_5(l_2_v)) else '—'))
                yield '</td>'
            l_2_loop = l_2_v = missing
            yield '          <td class="l">'
            if t_5(environment.getattr(l_1_r, 'ok')):
                pass
                yield '—'
            elif environment.getattr(l_1_r, 'ok'):
                pass
                yield '<span class="ok">ok</span>'
            else:
                pass
                yield '<span class="bad">LEAK?</span>'
            yield '</td>\n        </tr>\n'
        l_1_loop = l_1_r = missing
        yield '      </tbody>\n    </table>\n  </div>\n'
    else:
        pass
        yield '  <p class="empty">No fold audit in this run.</p>\n'
    yield '</section>\n\n<section id="metadata">\n  <h2>Run metadata</h2>\n  <dl class="kv">\n    <dt>run id</dt><dd><code>'
    yield escape(environment.getattr((undefined(name='d') if l_0_d is missing else l_0_d), 'run_id'))
    yield '</code></dd>\n    <dt>created</dt><dd>'
    yield escape(environment.getattr((undefined(name='d') if l_0_d is missing else l_0_d), 'created'))
    yield '</dd>\n    <dt>kind</dt><dd>'
    yield escape(environment.getattr((undefined(name='d') if l_0_d is missing else l_0_d), 'kind'))
    yield '</dd>\n    <dt>git commit</dt><dd><code>'
    yield escape((environment.getattr((undefined(name='d') if l_0_d is missing else l_0_d), 'git_commit') or 'unknown'))
    yield '</code></dd>\n    <dt>device</dt><dd>'
    yield escape((environment.getattr((undefined(name='d') if l_0_d is missing else l_0_d), 'device') or 'unknown'))
    yield '</dd>\n  </dl>\n'
    if environment.getattr((undefined(name='d') if l_0_d is missing else l_0_d), 'data_ranges'):
        pass
        yield '  <h3>Data</h3>\n  <div class="table-wrap">\n    <table>\n      <thead><tr>'
        for l_1_c in (undefined(name='data_range_columns') if l_0_data_range_columns is missing else l_0_data_range_columns):
            _loop_vars = {}
            pass
            yield '<th class="l">'
            yield escape(l_1_c)
            yield '</th>'
        l_1_c = missing
        yield '</tr></thead>\n      <tbody>\n'
        for l_1_r in environment.getattr((undefined(name='d') if l_0_d is missing else l_0_d), 'data_ranges'):
            _loop_vars = {}
            pass
            yield '        <tr>'
            for l_2_c in (undefined(name='data_range_columns') if l_0_data_range_columns is missing else l_0_data_range_columns):
                _loop_vars = {}
                pass
                yield '<td class="l">'
                yield escape((environment.getitem(l_1_r, l_2_c) if (t_4(environment.getitem(l_1_r, l_2_c)) and (not t_5(environment.getitem(l_1_r, l_2_c)))) else '—'))
                yield '</td>'
            l_2_c = missing
            yield '</tr>\n'
        l_1_r = missing
        yield '      </tbody>\n    </table>\n  </div>\n'
    if environment.getattr((undefined(name='d') if l_0_d is missing else l_0_d), 'versions'):
        pass
        yield '  <h3>Library versions</h3>\n  <div class="table-wrap">\n    <table>\n      <tbody>\n'
        for (l_1_name, l_1_version) in t_1(environment.getattr((undefined(name='d') if l_0_d is missing else l_0_d), 'versions')):
            _loop_vars = {}
            pass
            yield '        <tr><td class="l">'
            yield escape(l_1_name)
            yield '</td><td class="l">'
            yield escape(l_1_version)
            yield '</td></tr>\n'
        l_1_name = l_1_version = missing
        yield '      </tbody>\n    </table>\n  </div>\n'
    if environment.getattr((undefined(name='d') if l_0_d is missing else l_0_d), 'config_text'):
        pass
        yield '  <h3>Configuration</h3>\n  <pre>'
        yield escape(environment.getattr((undefined(name='d') if l_0_d is missing else l_0_d), 'config_text'))
        yield '</pre>\n'
    yield '</section>\n'

blocks = {}
debug_info = '3=49&5=52&8=60&10=63&14=65&25=68&27=72&28=74&29=76&30=78&31=80&32=82&33=84&34=86&40=90&47=94&57=98&62=109&64=114&65=124&79=140&80=142&81=144&82=146&83=148&85=150&89=153&91=161&92=165&98=175&103=178&104=182&110=188&112=191'