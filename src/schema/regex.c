/* Patterns: ECMA-262 flavoured regular expressions through PCRE2 in UTF mode, JIT-compiled once;
 * matching uses per-thread match data and a shared match context with match and depth limits. */
#include <pthread.h>
#include <string.h>

#include "odmd/buf.h"
#include "schema/internal.h"

/* ECMA-262's \s: ASCII white space plus the Unicode spaces and line terminators. */
#define ECMA_SPACE_ITEMS                                                                           \
    "\\t\\n\\x0b\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029"                                \
    "\\u202f\\u205f\\u3000\\ufeff"

#define MAX_PATTERN 65536

/* ECMA-262's long General_Category names; PCRE2 10.42 knows only the short ones. */
static const struct {
    const char *ecma, *pcre;
} categories[] = {
    {"Letter", "L"},
    {"Cased_Letter", "L&"},
    {"Uppercase_Letter", "Lu"},
    {"Lowercase_Letter", "Ll"},
    {"Titlecase_Letter", "Lt"},
    {"Modifier_Letter", "Lm"},
    {"Other_Letter", "Lo"},
    {"Mark", "M"},
    {"Combining_Mark", "M"},
    {"Nonspacing_Mark", "Mn"},
    {"Spacing_Mark", "Mc"},
    {"Enclosing_Mark", "Me"},
    {"Number", "N"},
    {"Decimal_Number", "Nd"},
    {"digit", "Nd"},
    {"Letter_Number", "Nl"},
    {"Other_Number", "No"},
    {"Punctuation", "P"},
    {"punct", "P"},
    {"Connector_Punctuation", "Pc"},
    {"Dash_Punctuation", "Pd"},
    {"Open_Punctuation", "Ps"},
    {"Close_Punctuation", "Pe"},
    {"Initial_Punctuation", "Pi"},
    {"Final_Punctuation", "Pf"},
    {"Other_Punctuation", "Po"},
    {"Symbol", "S"},
    {"Math_Symbol", "Sm"},
    {"Currency_Symbol", "Sc"},
    {"Modifier_Symbol", "Sk"},
    {"Other_Symbol", "So"},
    {"Separator", "Z"},
    {"Space_Separator", "Zs"},
    {"Line_Separator", "Zl"},
    {"Paragraph_Separator", "Zp"},
    {"Other", "C"},
    {"Control", "Cc"},
    {"cntrl", "Cc"},
    {"Format", "Cf"},
    {"Surrogate", "Cs"},
    {"Private_Use", "Co"},
    {"Unassigned", "Cn"},
};

/* Writes the property name of a \p{...} in PCRE2's spelling. */
static bool put_property(const char *name, size_t n, odm_buf_t *out)
{
    static const char *const prefixes[] = {"General_Category=", "gc="};
    for (size_t i = 0; i < 2; i++) {
        size_t plen = strlen(prefixes[i]);
        if (n > plen && strncmp(name, prefixes[i], plen) == 0) {
            name += plen;
            n -= plen;
        }
    }
    for (size_t i = 0; i < sizeof(categories) / sizeof(categories[0]); i++)
        if (strlen(categories[i].ecma) == n && strncmp(name, categories[i].ecma, n) == 0)
            return odm_buf_puts(out, categories[i].pcre);
    return odm_buf_append(out, name, n);
}

/* Copies \p{...} or \P{...} starting at p[i] (the letter); returns the index of its '}'. */
static size_t put_property_escape(const char *p, size_t n, size_t i, odm_buf_t *out, bool *ok)
{
    const char *close = memchr(p + i, '}', n - i);
    if (i + 1 >= n || p[i + 1] != '{' || close == NULL) {
        *ok = odm_buf_putc(out, '\\') && odm_buf_putc(out, p[i]);
        return i;
    }
    size_t start = i + 2, end = (size_t)(close - p);
    *ok = odm_buf_putc(out, '\\') && odm_buf_putc(out, p[i]) && odm_buf_putc(out, '{') &&
          put_property(p + start, end - start, out) && odm_buf_putc(out, '}');
    return end;
}

/* Rewrites what PCRE2 reads differently from ECMA-262: \s and \S (Unicode white space) and
 * long property names. */
static bool translate(const char *p, size_t n, odm_buf_t *out)
{
    bool in_class = false, ok = true;
    for (size_t i = 0; ok && i < n; i++) {
        char c = p[i];
        if (c == '\\' && i + 1 < n) {
            char e = p[++i];
            if (e == 's')
                ok = odm_buf_puts(out, in_class ? ECMA_SPACE_ITEMS : "[" ECMA_SPACE_ITEMS "]");
            else if (e == 'S' && !in_class)
                ok = odm_buf_puts(out, "[^" ECMA_SPACE_ITEMS "]");
            else if (e == 'p' || e == 'P')
                i = put_property_escape(p, n, i, out, &ok);
            else
                ok = odm_buf_putc(out, '\\') && odm_buf_putc(out, e);
            continue;
        }
        if (c == '[' && !in_class)
            in_class = true;
        else if (c == ']' && in_class)
            in_class = false;
        ok = odm_buf_putc(out, c);
    }
    return ok;
}

pcre2_code *schema__regex_compile(const char *pattern, size_t len, char *msg, size_t cap)
{
    odm_buf_t buf;
    odm_buf_init(&buf, MAX_PATTERN);
    if (!translate(pattern, len, &buf)) {
        odm_buf_release(&buf);
        snprintf(msg, cap, "pattern longer than %d bytes", MAX_PATTERN);
        return NULL;
    }
    pcre2_compile_context *cc = pcre2_compile_context_create(NULL);
    if (cc != NULL)
        pcre2_set_compile_extra_options(cc, PCRE2_EXTRA_ALT_BSUX);
    int code;
    PCRE2_SIZE offset;
    pcre2_code *re =
        pcre2_compile((PCRE2_SPTR)odm_buf_cstr(&buf), buf.len,
                      PCRE2_UTF | PCRE2_DOLLAR_ENDONLY | PCRE2_ALT_BSUX, &code, &offset, cc);
    pcre2_compile_context_free(cc);
    odm_buf_release(&buf);
    if (re == NULL) {
        char text[256];
        pcre2_get_error_message(code, (PCRE2_UCHAR *)text, sizeof(text));
        snprintf(msg, cap, "invalid regular expression: %s", text);
        return NULL;
    }
    pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* falls back to the interpreter on failure */
    return re;
}

pcre2_match_context *schema__regex_context_new(void)
{
    pcre2_match_context *m = pcre2_match_context_create(NULL);
    if (m != NULL) {
        pcre2_set_match_limit(m, SCHEMA_REGEX_MATCH_LIMIT);
        pcre2_set_depth_limit(m, SCHEMA_REGEX_DEPTH_LIMIT);
    }
    return m;
}

/* Per-thread match data, freed by the key's destructor when the thread exits. */
static pthread_once_t md_once = PTHREAD_ONCE_INIT;
static pthread_key_t md_key;
static _Thread_local pcre2_match_data *md;

static void md_destroy(void *p)
{
    pcre2_match_data_free(p);
}

static void md_key_create(void)
{
    pthread_key_create(&md_key, md_destroy);
}

static pcre2_match_data *thread_match_data(void)
{
    if (md == NULL) {
        pthread_once(&md_once, md_key_create);
        md = pcre2_match_data_create(1, NULL); /* a verdict needs no captures */
        if (md != NULL)
            pthread_setspecific(md_key, md);
    }
    return md;
}

int schema__regex_match(const schema__regex_t *re, const pcre2_match_context *mctx, const char *s,
                        size_t len)
{
    if (re->simple != NULL)
        return schema__simple_match(re->simple, s, len);
    const pcre2_code *code = re->code;
    pcre2_match_data *data = thread_match_data();
    if (data == NULL)
        return -1;
    /* The JIT entry skips pcre2_match's setup and its UTF-8 check: jansson strings are valid
     * UTF-8 by its contract. A pattern the JIT could not compile takes the interpreter. */
    int rc = pcre2_jit_match(code, (PCRE2_SPTR)s, len, 0, 0, data, (pcre2_match_context *)mctx);
    if (rc == PCRE2_ERROR_JIT_BADOPTION)
        rc = pcre2_match(code, (PCRE2_SPTR)s, len, 0, 0, data, (pcre2_match_context *)mctx);
    if (rc >= 0)
        return 1;
    return rc == PCRE2_ERROR_NOMATCH ? 0 : -1;
}
