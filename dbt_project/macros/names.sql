{#- Repairing person names (docs/domain.md#text-as-it-arrives).

    A name is repaired by the SQL function repair_name(text), created in the staging schema by
    the project's on-run-start hook (create_name_functions below), step by step:
      0. Invisible characters removed (zero-width space, ZWNJ, ZWJ, word joiner, BOM).
      1. UTF-8 read as cp1252 ("Nguyá»…n", "HÃ  Ná»™i") back to the UTF-8 text, only when the
         value reads as UTF-8 bytes: every character maps to one cp1252 byte and the bytes are
         valid UTF-8 with at least one multi-byte sequence. No Vietnamese name passes that test
         (a continuation byte 0x80-0xBF is never a Vietnamese letter), and the conversion sits
         in an exception block, so the query never fails on it. Done twice: text misread
         twice ("NguyÃ¡Â»â€¦n") comes back in two steps; the second step leaves a name the
         first one repaired as it is.
      2. TCVN3 (ABC, .VnTime fonts) read as Latin-1 ("NguyÔn V¨n §øc") through the TCVN3
         table, only when every character is Latin-1 and one is a TCVN3 byte that is no
         Vietnamese letter (§ ¨ µ ...) or an upper-case Latin-1 letter sits inside a word
         of lower-case letters ("NguyÔn", "BÝch"). Files declared as TCVN3 are decoded at ingest; this catches text typed
         with ABC fonts in a Unicode container (spreadsheet cells). A value whose TCVN3 bytes
         all read as lower-case Vietnamese letters ("Vâ Phóc" for "Võ Phúc") is not detected.
      3. Unicode NFC (Windows-1258 files decode to base letter + combining tone mark; NFD).
      4. Whitespace (no-break spaces too) collapsed to single spaces, trimmed; empty is null.
      5. Proper case: every word (after a space, hyphen or apostrophe) starts upper case, the
         rest is lower case. Done with translate() over the Vietnamese alphabet, independent of
         the server's locale. Also restores TCVN3's upper-case toned vowels, which decode lower
         case ("ánh" for "Ánh").
      6. One tone placement: in the open syllables oa, oe, uy (nothing after the second vowel)
         the mark goes on the first vowel, as the population database writes names:
         "Hoà" -> "Hòa", "Thuỳ" -> "Thùy", "Khoẻ" -> "Khỏe"; "Hoàng", "Quỳnh", "Quý" (qu is
         a consonant) and "Khoa" are left alone.

    Not repaired: VNI (VNI-Windows fonts: ASCII letter followed by a mark byte, "Nguyeãn" for
    "Nguyễn", "Xin chaøo"). Its mark bytes (ø ù û õ ï å ä ...) overlap both TCVN3's bytes and
    Vietnamese letters ("Hoàng" is the VNI spelling of "Hồng"), so it cannot be told apart
    from a correct name or from TCVN3 by the value alone; no source declares it. Such a value
    passes steps 3-6 unchanged apart from case.

    Marks a source never had ("NGUYEN VAN AN") cannot be repaired from the text: see
    restore_name_marks. A name that does not come out as Vietnamese letters is never stored
    half repaired: name_not_vietnamese marks it, and check_name quarantines the row as
    NAME_UNREPAIRABLE. -#}

{#- The Vietnamese letters (NFC) with a mark, lower case, and the same letters upper case in
    the same order (as in name_match_key). -#}
{% macro vietnamese_marked_lower() -%}
àáãảạăằắẵẳặâầấẫẩậèéẽẻẹêềếễểệìíĩỉịòóõỏọôồốỗổộơờớỡởợùúũủụưừứữửựỳýỹỷỵđ
{%- endmacro %}
{% macro vietnamese_marked_upper() -%}
ÀÁÃẢẠĂẰẮẴẲẶÂẦẤẪẨẬÈÉẼẺẸÊỀẾỄỂỆÌÍĨỈỊÒÓÕỎỌÔỒỐỖỔỘƠỜỚỠỞỢÙÚŨỦỤƯỪỨỮỬỰỲÝỸỶỴĐ
{%- endmacro %}

{#- The schema holding the name functions. -#}
{% macro name_function_schema() -%}
staging
{%- endmacro %}

{#- A name as received, repaired (see above); null when empty. -#}
{% macro repair_name(column) -%}
    {{ name_function_schema() }}.repair_name({{ column }})
{%- endmacro %}

{#- Marks restored from a reference: the population database's name of the citizen with the
    row's personal ID (column reference_name, null when there is none). When the repaired name
    has no mark at all (plain ASCII, as legacy systems stored "NGUYEN VAN AN") and the
    reference name has the same matching key, the reference name (repaired); otherwise the
    repaired name. A name with marks is never replaced. -#}
{% macro restore_name_marks(name, reference_name) -%}
    {{ name_function_schema() }}.restore_name_marks({{ name }}, {{ reference_name }})
{%- endmacro %}

{#- cp1252 bytes 0x80-0x9F: the characters cp1252 gives them, and the byte values (0x81, 0x8D,
    0x8F, 0x90, 0x9D are undefined in cp1252: a reader keeps them as the Latin-1 control
    character of the same value, which needs no mapping). -#}
{% macro _cp1252_specials() -%}
€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ
{%- endmacro %}
{% macro _cp1252_special_bytes() -%}
    {%- set bytes = [128, 130, 131, 132, 133, 134, 135, 136, 137, 138, 139, 140, 142,
                     145, 146, 147, 148, 149, 150, 151, 152, 153, 154, 155, 156, 158, 159] -%}
    {%- for b in bytes %}chr({{ b }}){% if not loop.last %} || {% endif %}{% endfor -%}
{%- endmacro %}

{#- TCVN3 (VN3 subset of TCVN 5712:1993, as include/ndc/textcodecs.py): the Latin-1 characters
    of the bytes 0xA1-0xFE that hold Vietnamese letters, and those letters. chr(173) is the soft
    hyphen (byte 0xAD, "ư"). tests/unit/test_name_macros.py checks these against the codec. -#}
{% macro _tcvn3_bytes() -%}
'¡¢£¤¥¦§¨©ª«¬' || chr(173) || '®µ¶·¸¹»¼½¾ÆÇÈÉÊËÌÎÏÐÑÒÓÔÕÖ×ØÜÝÞßáâãäåæçèéêëìíîïñòóôõö÷øùúûüþ'
{%- endmacro %}
{% macro _tcvn3_letters() -%}
'ĂÂÊÔƠƯĐăâêôơưđàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹỵ'
{%- endmacro %}
{#- The TCVN3 bytes whose Latin-1 character is no Vietnamese letter: one of them marks a value
    as TCVN3 read as Latin-1. -#}
{% macro _tcvn3_signature() -%}
'¡¢£¤¥¦§¨©ª«¬' || chr(173) || '®µ¶·¸¹»¼½¾ÆÇËÎÏÐÑÖ×ØÜÞßäåæçëîïñö÷øûüþ'
{%- endmacro %}

{#- A name already in repaired form: words of one upper-case letter followed by lower-case
    letters (Vietnamese alphabet), separated by single spaces. -#}
{% macro _repaired_name_pattern() -%}
    {%- set upper = 'A-Z' ~ vietnamese_marked_upper() -%}
    {%- set lower = 'a-z' ~ vietnamese_marked_lower() -%}
    ^[{{ upper }}][{{ lower }}]*( [{{ upper }}][{{ lower }}]*)*$
{%- endmacro %}

{#- A word ending in an open oa / oe / uy syllable with the tone on the second vowel (what
    name_tone_style moves). -#}
{% macro _tone_to_move_pattern() -%}
    (?:[oO][àáãảạèéẽẻẹ]|(?<![qQ])[uU][ỳýỹỷỵ])(?: |$)
{%- endmacro %}

{#- Characters that copy and paste leaves inside names and that show as nothing: zero-width
    space, non-joiner and joiner, word joiner, and the byte order mark (U+FEFF) of a pasted
    file. Removed before any other step (the no-break space U+00A0 is a space: step 4). -#}
{% macro _invisible_characters() -%}
    U&'\200B\200C\200D\2060\FEFF'
{%- endmacro %}

{#- True when a repaired name holds a character outside the Vietnamese alphabet (letters
    a-z, the marked letters, both cases), the space, the hyphen and the apostrophe: the
    repair did not yield Vietnamese letters ("Nguy?n", a digit, a stray symbol, mojibake it
    could not undo), so the row is quarantined as NAME_UNREPAIRABLE instead of storing a
    half-repaired name. -#}
{% macro name_not_vietnamese(column) -%}
    ({{ column }} !~ '^[A-Za-z{{ vietnamese_marked_lower() }}{{ vietnamese_marked_upper() }} ''-]*$')
{%- endmacro %}

{#- The DDL of the name functions (run by on-run-start; idempotent). -#}
{% macro create_name_functions() -%}
{%- set schema = name_function_schema() -%}
{%- set lower_letters = 'abcdefghijklmnopqrstuvwxyz' ~ vietnamese_marked_lower() -%}
{%- set upper_letters = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ' ~ vietnamese_marked_upper() -%}
-- Cosmos runs models as parallel dbt invocations, each running this hook: one at a time
-- (concurrent "create or replace function" on one function fails), until the hook commits.
select pg_advisory_xact_lock(hashtext('ndc.create_name_functions'));
create schema if not exists {{ schema }};

-- UTF-8 text that was read as cp1252 and stored again, read back as UTF-8; any other value
-- unchanged.
create or replace function {{ schema }}.repair_name_mojibake(value text)
returns text language plpgsql immutable strict parallel safe as $fn$
declare
    bytes_as_text text := translate(value, '{{ _cp1252_specials() }}', {{ _cp1252_special_bytes() }});
    valid_utf8 constant text := '^([\x01-\x7F]|[\xC2-\xDF][\x80-\xBF]|\xE0[\xA0-\xBF][\x80-\xBF]'
        '|[\xE1-\xEC\xEE\xEF][\x80-\xBF]{2}|\xED[\x80-\x9F][\x80-\xBF]'
        '|\xF0[\x90-\xBF][\x80-\xBF]{2}|[\xF1-\xF3][\x80-\xBF]{3}|\xF4[\x80-\x8F][\x80-\xBF]{2})*$';
begin
    -- Only characters of one byte each, at least one of them beyond ASCII.
    if bytes_as_text !~ '^[\x01-\xFF]*$' or bytes_as_text !~ '[\x80-\xFF]' then
        return value;
    end if;
    -- U+00A0 ("à" is C3 A0) may have been trimmed away or turned into a plain space: put it
    -- back after a lone C3, but only in a value that holds other UTF-8 sequences ("LÃ THI"
    -- is a name).
    if bytes_as_text !~ valid_utf8 then
        if bytes_as_text !~ '[\xC2-\xDF][\x80-\xBF]|[\xE0-\xEF][\x80-\xBF]{2}' then
            return value;
        end if;
        bytes_as_text := regexp_replace(bytes_as_text, '\xC3(?= |$)', chr(195) || chr(160), 'g');
        if bytes_as_text !~ valid_utf8 then
            return value;
        end if;
    end if;
    begin
        return convert_from(convert_to(bytes_as_text, 'LATIN1'), 'UTF8');
    exception when others then
        return value;
    end;
end
$fn$;

-- TCVN3 text that was read as Latin-1, read through the TCVN3 table; any other value
-- unchanged.
create or replace function {{ schema }}.repair_name_tcvn3(value text)
returns text language sql immutable strict parallel safe as $fn$
    select case
        when value ~ '^[\x01-\xFF]*$'
            and (value ~ ('[' || {{ _tcvn3_signature() }} || ']') or value ~ '[a-z][\xC0-\xDE]|[A-Z][\xC0-\xDE][a-z]')
            then translate(value, {{ _tcvn3_bytes() }}, {{ _tcvn3_letters() }})
        else value
    end
$fn$;

-- Every word starts upper case, the rest lower case (locale independent).
create or replace function {{ schema }}.proper_case_name(value text)
returns text language sql immutable strict parallel safe as $fn$
    select string_agg(
        translate(left(word, 1), '{{ lower_letters }}', '{{ upper_letters }}') || substr(word, 2),
        '' order by position
    )
    from regexp_split_to_table(
        translate(value, '{{ upper_letters }}', '{{ lower_letters }}'),
        '(?=[^ ''-])(?<=[ ''-])'
    ) with ordinality as words (word, position)
$fn$;

-- The tone mark of an open oa / oe / uy syllable on the first vowel ("Hoà" -> "Hòa"): word
-- by word, split exactly as proper_case_name splits (the same pattern, so PostgreSQL's small
-- cache of compiled regular expressions is not thrashed: a chain of one pattern per vowel and
-- tone made each name cost a dozen regex compilations). The word's last two letters move the
-- tone from the second vowel to the first; "Quý" (qu + y) and closed syllables ("Hoàng",
-- "Quỳnh") do not match.
create or replace function {{ schema }}.name_tone_style(value text)
returns text language sql immutable strict parallel safe as $fn$
    select string_agg(
        case
            when word ~ '(?:[oO][àáãảạèéẽẻẹ]|(?<![qQ])[uU][ỳýỹỷỵ])[ ''-]*$' then
                left(core, -2)
                || substr(
                    case left(right(core, 2), 1)
                        when 'o' then 'òóõỏọ' when 'O' then 'ÒÓÕỎỌ'
                        when 'u' then 'ùúũủụ' else 'ÙÚŨỦỤ'
                    end,
                    strpos('àáãảạ', right(core, 1)) + strpos('èéẽẻẹ', right(core, 1))
                        + strpos('ỳýỹỷỵ', right(core, 1)),
                    1
                )
                || translate(right(core, 1), 'àáãảạèéẽẻẹỳýỹỷỵ', 'aaaaaeeeeeyyyyy')
                || substr(word, length(core) + 1)
            else word
        end,
        '' order by position
    )
    from regexp_split_to_table(value, '(?=[^ ''-])(?<=[ ''-])') with ordinality as words (word, position)
    cross join lateral (select rtrim(word, ' ''-') as core) as trimmed
$fn$;

-- A person's name repaired: legacy encodings, NFC, spaces, proper case, one tone placement.
-- Not declared strict (null gives null anyway): a strict wrapper is not inlined into the
-- calling query, and the SQL-function call per row cost five times the repair itself.
-- Most names arrive already in the form the repair gives (words of one upper-case letter and
-- lower-case letters of the Vietnamese alphabet, single spaces, NFC, the tone of an open
-- oa/oe/uy on the first vowel): such a name is returned as it is after one match (about 2 us;
-- the whole repair costs about 40 us, two set-returning word splits). It is a fixed point of
-- the repair: no byte of it can start a cp1252 reading of UTF-8 (an upper-case Latin-1 letter
-- is a UTF-8 lead byte, and what follows it is a letter, never a continuation byte), none is a
-- TCVN3 signature byte, and its case, spaces and tones are already the repaired ones.
create or replace function {{ schema }}.repair_name(value text)
returns text language sql immutable parallel safe as $fn$
    select case
        when value ~ '{{ _repaired_name_pattern() }}'
            and value is nfc normalized
            and value !~ '{{ _tone_to_move_pattern() }}'
            then value
        else {{ schema }}.name_tone_style({{ schema }}.proper_case_name(nullif(trim(regexp_replace(
            normalize({{ schema }}.repair_name_tcvn3({{ schema }}.repair_name_mojibake(
                {{ schema }}.repair_name_mojibake(translate(value, {{ _invisible_characters() }}, '')))), nfc),
            '[[:space:]' || chr(160) || ']+', ' ', 'g')), '')))
    end
$fn$;

-- A repaired name without marks takes the reference's marks when the matching keys agree.
create or replace function {{ schema }}.restore_name_marks(name text, reference_name text)
returns text language sql immutable parallel safe as $fn$
    select case
        when name !~ '[^\x01-\x7F]'
            and {{ name_match_key('reference_name') }} = {{ name_match_key('name') }}
            then {{ schema }}.repair_name(reference_name)
        else name
    end
$fn$;
{%- endmacro %}
