# stackcast compiled template: sha256 439ce162e9a5a6becce25c4040f5062e0fe740205c818a5941c379df626a56f0, jinja2 3.1.6
# Generated: do not edit; see stackcast.reports.templating.
from jinja2.runtime import LoopContext, Macro, Markup, Namespace, TemplateNotFound, TemplateReference, TemplateRuntimeError, Undefined, escape, identity, internalcode, markup_join, missing, str_join
name = 'index.html'

def root(context, missing=missing):
    resolve = context.resolve_or_missing
    undefined = environment.undefined
    concat = environment.concat
    cond_expr_undefined = Undefined
    if 0: yield None
    parent_template = None
    pass
    parent_template = environment.get_template('base.html', 'index.html')
    for name, parent_block in parent_template.blocks.items():
        context.blocks.setdefault(name, []).append(parent_block)
    yield from parent_template.root_render_func(context)

def block_title(context, missing=missing):
    resolve = context.resolve_or_missing
    undefined = environment.undefined
    concat = environment.concat
    cond_expr_undefined = Undefined
    if 0: yield None
    _block_vars = {}
    l_0_title = resolve('title')
    pass
    yield escape((undefined(name='title') if l_0_title is missing else l_0_title))

def block_main_class(context, missing=missing):
    resolve = context.resolve_or_missing
    undefined = environment.undefined
    concat = environment.concat
    cond_expr_undefined = Undefined
    if 0: yield None
    _block_vars = {}
    pass
    yield 'wide'

def block_body(context, missing=missing):
    resolve = context.resolve_or_missing
    undefined = environment.undefined
    concat = environment.concat
    cond_expr_undefined = Undefined
    if 0: yield None
    _block_vars = {}
    l_0_title = resolve('title')
    l_0_rows = resolve('rows')
    try:
        t_1 = environment.filters['length']
    except KeyError:
        @internalcode
        def t_1(*unused):
            raise TemplateRuntimeError("No filter named 'length' found.")
    try:
        t_2 = environment.filters['pp']
    except KeyError:
        @internalcode
        def t_2(*unused):
            raise TemplateRuntimeError("No filter named 'pp' found.")
    try:
        t_3 = environment.filters['urlpath']
    except KeyError:
        @internalcode
        def t_3(*unused):
            raise TemplateRuntimeError("No filter named 'urlpath' found.")
    pass
    yield '<header class="top">\n  <h1>'
    yield escape((undefined(name='title') if l_0_title is missing else l_0_title))
    yield '</h1>\n  <p class="meta"><span>'
    yield escape(t_1((undefined(name='rows') if l_0_rows is missing else l_0_rows)))
    yield ' run'
    yield escape(('' if (t_1((undefined(name='rows') if l_0_rows is missing else l_0_rows)) == 1) else 's'))
    yield ', newest first</span></p>\n</header>\n<section id="runs">\n<h2>Runs</h2>\n'
    if (undefined(name='rows') if l_0_rows is missing else l_0_rows):
        pass
        yield '<div class="table-wrap">\n  <table class="runs">\n    <thead>\n      <tr>\n        <th class="l">run</th><th class="l">created</th><th class="l">kind</th><th class="l">tickers</th>\n        <th>MAE % h=1 model</th><th>MAE % h=1 RW</th><th class="l verdict">verdict</th>\n      </tr>\n    </thead>\n    <tbody>\n'
        for l_1_r in (undefined(name='rows') if l_0_rows is missing else l_0_rows):
            _loop_vars = {}
            pass
            yield '      <tr>\n        <td class="l run" data-label="run"><a href="runs/'
            yield escape(t_3(environment.getattr(l_1_r, 'run_id')))
            yield '/report.html">'
            yield escape(environment.getattr(l_1_r, 'run_id'))
            yield '</a>'
            if environment.getattr(l_1_r, 'title'):
                pass
                yield '<br><span class="note">'
                yield escape(environment.getattr(l_1_r, 'title'))
                yield '</span>'
            yield '</td>\n        <td class="l created" data-label="created">'
            yield escape(environment.getattr(l_1_r, 'created'))
            yield '</td>\n        <td class="l" data-label="kind">'
            yield escape(environment.getattr(l_1_r, 'kind'))
            yield '</td>\n        <td class="l tickers" data-label="tickers">'
            yield escape((environment.getattr(l_1_r, 'tickers') or '—'))
            yield '</td>\n        <td data-label="MAE % h=1 model">'
            yield escape(t_2(environment.getattr(l_1_r, 'mae_model')))
            yield '</td>\n        <td data-label="MAE % h=1 RW">'
            yield escape(t_2(environment.getattr(l_1_r, 'mae_rw')))
            yield '</td>\n        <td class="l verdict" data-label="verdict">'
            yield escape((environment.getattr(l_1_r, 'verdict') or '—'))
            yield '</td>\n      </tr>\n'
        l_1_r = missing
        yield '    </tbody>\n  </table>\n</div>\n'
    else:
        pass
        yield '<p class="empty">No runs yet.</p>\n'
    yield '</section>\n'

blocks = {'title': block_title, 'main_class': block_main_class, 'body': block_body}
debug_info = '1=12&2=17&3=28&4=38&6=67&7=69&11=73&21=76&23=80&24=90&25=92&26=94&27=96&28=98&29=100'