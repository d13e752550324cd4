extension DissectorLua {
    /// The first part of the fixed Lua: preferences, the CRC, and the checks of a frame's fields
    /// that port `lint`'s rules (each names the Swift code it follows). The framing and the
    /// dissection follow in `staticPart`.
    static let checksPart = #"""
    hj212.prefs.heuristic = Pref.bool("Heuristic detection on any TCP port", true,
      "Recognise HJ 212 on any TCP port by its ##dddd header followed by QN= or ST=")
    hj212.prefs.ports = Pref.range("TCP ports", "", "TCP ports always decoded as HJ 212 (e.g. 7001,9000-9010)", 65535)

    -- The HJ 212 CRC (HJ 212-2017 Appendix A), with arithmetic only (any Lua version).
    local function bxor(a, b)
      local r, p = 0, 1
      while a > 0 or b > 0 do
        local x, y = a % 2, b % 2
        if x ~= y then r = r + p end
        a, b, p = (a - x) / 2, (b - y) / 2, p * 2
      end
      return r
    end
    local CRC_TABLE = {}
    for i = 0, 255 do
      local c = i
      for _ = 1, 8 do
        if c % 2 == 1 then c = bxor((c - 1) / 2, 0xA001) else c = c / 2 end
      end
      CRC_TABLE[i] = c
    end
    local function hj212_crc(s)
      local c = 0xFFFF
      for i = 1, #s do c = CRC_TABLE[bxor(math.floor(c / 256), s:byte(i))] end
      return string.format("%04X", c)
    end

    -- The values of CRC_VARIANTS for a segment, as upper-case hex: CRC-16/MODBUS (init 0xFFFF,
    -- reflected 0xA001, no final XOR; the same table, the low byte folded in) printed high byte
    -- first, and printed low byte first.
    local function crc_variant_values(s)
      local c = 0xFFFF
      for i = 1, #s do c = bxor(math.floor(c / 256), CRC_TABLE[bxor(c % 256, s:byte(i))]) end
      return { ["modbus"] = string.format("%04X", c),
               ["modbus-swapped"] = string.format("%04X", (c % 256) * 256 + math.floor(c / 256)) }
    end

    -- Flags a tree item with a rule's expert info; the text starts with the rule ID, as lint prints it.
    local function flag(item, id, detail)
      item:add_proto_expert_info(RULES[id], RULE_TEXT[id] .. (detail and (": " .. detail) or ""))
    end

    local function factor(code)
      local f = FACTORS[code] or FACTORS[code:lower()]
      if f then return f end
      for _, p in ipairs(FACTOR_PATTERNS) do
        if code:match(p[1]) then return p[2] end
      end
      return nil
    end

    local function flag_text(v)
      local n = tonumber(v)
      if not n then return "not a number" end
      local version = math.floor(n / 4)
      local names = { [0] = "HJ/T 212-2005", [1] = "HJ 212-2017", [2] = "HJ 212-2025" }
      return (names[version] or ("version " .. version)) .. "; " ..
        ((math.floor(n / 2) % 2 == 1) and "split (PNUM/PNO)" or "not split") .. "; " ..
        ((n % 2 == 1) and "answer required (A=1)" or "no answer (A=0)")
    end

    -- A header number as lint reads it (Swift's Int: an optional sign, ASCII digits, within 64 bits):
    -- its value and its decimal text, or nil.
    local function int_value(text)
      local sign, digits = text:match("^([+-]?)(%d+)$")
      if not digits then return nil end
      digits = digits:match("^0*(.-)$")
      if digits == "" then return 0, "0" end
      local limit = sign == "-" and "9223372036854775808" or "9223372036854775807"
      if #digits > 19 or (#digits == 19 and digits > limit) then return nil end
      local shown = (sign == "-" and "-" or "") .. digits
      return tonumber(shown), shown
    end

    -- PNUM/PNO of a split packet (segment.pno-range), as lint judges them: the first PNUM and PNO,
    -- spaces around them ignored; not numbers, or not 1 <= PNO <= PNUM <= 9999.
    local function check_pno(t, first, items)
      local pnum_text, pno_text = first["PNUM"], first["PNO"]
      if not pnum_text and not pno_text then return end
      local pnum, pnum_shown, pno, pno_shown
      if pnum_text then pnum, pnum_shown = int_value(pnum_text) end
      if pno_text then pno, pno_shown = int_value(pno_text) end
      if (pnum_text and not pnum) or (pno_text and not pno) then
        flag(items["PNUM"] or t, "segment.pno-range", "PNUM '" .. (pnum_text or "") .. "' / PNO '" .. (pno_text or "") .. "' are not numbers")
      elseif pnum and pno and not (pno >= 1 and pno <= pnum and pnum <= 9999) then
        flag(items["PNO"] or t, "segment.pno-range", "PNO=" .. pno_shown .. " of PNUM=" .. pnum_shown .. "; expected 1 ≤ PNO ≤ PNUM")
      end
    end

    -- lint's words for bytes it skipped (Linter.diagnose), by the decoder's reason.
    local NOISE = "not part of any frame"
    local BROKEN_HEADER = "a '##' whose length field is not 4 digits and that no CR LF closes"
    local UNFRAMED = "a '##' whose frame could not be delimited (no CRC where the length says, no CR LF)"
    local TRUNCATED = "a frame cut short: the next frame's '##' header came before its declared end"

    -- Bytes quoted as lint quotes them (Linter.quote): the first 48, printable ASCII as is.
    local function quote(bytes)
      local out = {}
      for i = 1, math.min(#bytes, 48) do
        local b = bytes:byte(i)
        if b >= 0x20 and b <= 0x7E and b ~= 0x27 and b ~= 0x5C then out[#out + 1] = string.char(b)
        elseif b == 0x0D then out[#out + 1] = "\\r"
        elseif b == 0x0A then out[#out + 1] = "\\n"
        else out[#out + 1] = string.format("\\x%02X", b) end
      end
      return "'" .. table.concat(out) .. (#bytes > 48 and "…'" or "'")
    end


    -- The number of characters of `s` as lint counts them when a length is not its bytes: Unicode
    -- scalars and UTF-16 units of the text decoded as Swift decodes it (each maximal invalid
    -- sequence one U+FFFD).
    local function char_counts(s)
      local scalars, units, i, n = 0, 0, 1, #s
      while i <= n do
        local b, need, lo, hi = s:byte(i), 0, 0x80, 0xBF
        if b >= 0xC2 and b <= 0xDF then need = 1
        elseif b == 0xE0 then need, lo = 2, 0xA0
        elseif (b >= 0xE1 and b <= 0xEC) or b == 0xEE or b == 0xEF then need = 2
        elseif b == 0xED then need, hi = 2, 0x9F
        elseif b == 0xF0 then need, lo = 3, 0x90
        elseif b >= 0xF1 and b <= 0xF3 then need = 3
        elseif b == 0xF4 then need, hi = 3, 0x8F end
        i = i + 1
        local got = 0
        while got < need do
          local c = s:byte(i)
          if not c or c < lo or c > hi then break end
          lo, hi, i, got = 0x80, 0xBF, i + 1, got + 1
        end
        scalars = scalars + 1
        units = units + ((need == 3 and got == 3) and 2 or 1)
      end
      return scalars, units
    end

    -- The length field, judged as lint judges it (Linter.checkFrame), in its words.
    local function check_length(item, field, declared, segment)
      local n = #segment
      if not declared then
        flag(item, "frame.length-not-digits", "expected 4 decimal digits after '##', found " .. quote(field) ..
          "; the data segment has " .. n .. " bytes")
      elseif declared ~= n then
        local scalars, units = char_counts(segment)
        if declared == units or declared == scalars then
          flag(item, "frame.length-counts-characters", "declared length " .. declared .. " counts characters; the data segment is " ..
            n .. " UTF-8 bytes (write " .. string.format("%04d", n) .. ")")
        else
          flag(item, "frame.length-mismatch", "declared length " .. string.format("%04d", declared) .. ", the data segment has " ..
            n .. " bytes (expected " .. string.format("%04d", n) .. ")")
        end
      end
    end

    -- The edition lint judges a packet by (Dialect.detect: the Flag's version bits; no Flag is
    -- HJ/T 212-2005 when CN or ST is there; an unknown one is judged as 2017).
    local TITLES = { ["2005"] = "HJ/T 212-2005", ["2017"] = "HJ 212-2017", ["2025"] = "HJ 212-2025" }
    local REPLIES = { ["9011"] = true, ["9012"] = true, ["9013"] = true, ["9014"] = true }
    local function dialect_of(first)
      if first["Flag"] then
        local n = int_value(first["Flag"])
        local version = n and n >= 0 and n <= 255 and math.floor(n / 4)
        return (version == 0 and "2005") or (version == 2 and "2025") or "2017"
      end
      return (first["CN"] or first["ST"]) and "2005" or "2017"
    end

    -- A time of 14 digits, or 17 with milliseconds, that is a real one (HJTime.isValid).
    local function real_time(text)
      local y, mo, d = tonumber(text:sub(1, 4)), tonumber(text:sub(5, 6)), tonumber(text:sub(7, 8))
      local h, mi, s = tonumber(text:sub(9, 10)), tonumber(text:sub(11, 12)), tonumber(text:sub(13, 14))
      if y < 1900 or y > 2999 or mo < 1 or mo > 12 or d < 1 or h > 23 or mi > 59 or s > 59 then return false end
      local days = ({ 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 })[mo]
      if mo == 2 and ((y % 4 == 0 and y % 100 ~= 0) or y % 400 == 0) then days = 29 end
      return d <= days
    end

    -- The header, judged as lint judges it (SegmentChecks.checkHeader and checkReply, the rules
    -- the dissector shows), in its words: the first of each field (`first`, `items`: value and
    -- tree item by trimmed name), the fields the packet's edition requires, "CP=" anywhere, QN,
    -- ST and CN of the right form (lint's format rules are not shown), MN, and ST=91 of a reply.
    local function check_header(t, first, items, segment)
      local dialect = dialect_of(first)
      local title = TITLES[dialect]
      local cn, st = first["CN"], first["ST"]
      local required = { "QN", "ST", "CN", "PW", "MN", "Flag" }
      if dialect == "2005" then required = (cn and REPLIES[cn]) and { "ST", "CN" } or { "ST", "CN", "PW", "MN" } end
      for _, name in ipairs(required) do
        if not first[name] then
          flag(t, "segment.field-missing", name .. " is missing; " .. title .. " requires " .. table.concat(required, " "))
        end
      end
      if not segment:find("CP=", 1, true) then flag(t, "segment.field-missing", "CP=&&…&& is missing") end
      local qn = first["QN"]
      if qn then
        if #qn ~= 17 or not qn:match("^%d+$") then
          flag(items["QN"], "segment.qn-format", "QN '" .. qn .. "' has " .. #qn .. " characters; expected 17 digits YYYYMMDDhhmmsszzz")
        elseif not real_time(qn) then
          flag(items["QN"], "segment.qn-format", "QN '" .. qn .. "' is not a real date and time (YYYYMMDDhhmmsszzz)")
        end
      end
      if st and st:match("^[0-9A-Z][0-9A-Z]$") and not SYSTEMS[st] then
        flag(items["ST"], "segment.st-unknown", "ST=" .. st .. " is not in the system-code table of " .. title)
      end
      if cn and cn:match("^%d%d%d%d$") and not COMMANDS[cn] then
        flag(items["CN"], "segment.cn-unknown", "CN=" .. cn .. " is not a command of " .. title .. " (vendor extension?)")
      end
      local mn = first["MN"]
      if mn then
        local count = char_counts(mn)
        local hex = mn:match("^[0-9A-F]*$") ~= nil
        if dialect == "2005" then
          if count ~= 14 and not (count == 24 and hex) then
            flag(items["MN"], "segment.mn-format", "MN '" .. mn .. "' has " .. count .. " characters; HJ/T 212-2005 uses 14")
          end
        elseif count ~= 24 or not hex then
          flag(items["MN"], "segment.mn-format", "MN '" .. mn .. "' is " .. count .. " characters" .. (hex and "" or ", not all 0-9 A-F") ..
            "; expected 24 hex characters (EPC-96)" .. (count == 14 and ", 14 is the HJ/T 212-2005 form" or ""))
        end
      end
      if cn and REPLIES[cn] and st and st ~= "91" then
        flag(items["ST"], "reply.st-not-91", "CN=" .. cn .. " is a reply; expected ST=91, found ST=" .. st)
      end
    end

    -- The names of the CP entries as lint's parser reads them (SegmentParser: "CP=&&" else "CP=",
    -- the data area up to the closing "&&", entries split at ';' and ',' outside //log// values,
    -- spaces trimmed, an entry without '=' named by its text), or nil without "CP=".
    local function cp_names(segment)
      local at = segment:find("CP=&&", 1, true) or segment:find("CP=", 1, true)
      if not at then return nil end
      -- 0-based offsets, as in the parser.
      local n = #segment
      local function byte(i) return segment:byte(i + 1) end
      local lo = at - 1 + 3
      if lo + 1 < n and byte(lo) == 38 and byte(lo + 1) == 38 then lo = lo + 2
      elseif lo < n and byte(lo) == 38 then lo = lo + 1 end
      local hi = n
      if n - lo >= 2 and byte(n - 1) == 38 and byte(n - 2) == 38 then
        hi = n - 2
      else
        local j, closing = n - 2, nil
        while j >= lo do
          if byte(j) == 38 and byte(j + 1) == 38 then closing = j break end
          j = j - 1
        end
        if closing and lo < n and closing + 2 < n and not segment:sub(lo + 1, closing):find("//", 1, true) then hi = closing end
      end
      if hi < lo then hi = lo end
      local names = {}
      if hi == lo then return names end
      if byte(lo) == 0x7B then return { "" } end  -- '{': an encrypted area, one entry without a name
      local function trimmed(a, b)
        while a < b and byte(a) == 32 do a = a + 1 end
        while b > a and byte(b - 1) == 32 do b = b - 1 end
        return a, b
      end
      local entry_start, i, value_start = lo, lo, nil
      while i <= hi do
        local b = i < hi and byte(i) or nil
        if b == 61 and not value_start then
          value_start = i + 1
          local v = i + 1
          while v < hi and byte(v) == 32 do v = v + 1 end
          if v + 1 < hi and byte(v) == 47 and byte(v + 1) == 47 then
            local k, closed = v + 2, false
            while k + 1 < hi do
              if byte(k) == 47 and byte(k + 1) == 47 then closed = true break end
              k = k + 1
            end
            i = closed and k + 2 or hi
          else
            i = i + 1
          end
        elseif b and b ~= 59 and b ~= 44 then
          i = i + 1
        else
          local a, e = trimmed(entry_start, i)
          if a < e then
            if value_start and value_start - 1 >= a and value_start - 1 < e then
              local na, ne = trimmed(a, value_start - 1)
              names[#names + 1] = segment:sub(na + 1, ne)
            else
              names[#names + 1] = segment:sub(a + 1, e)
            end
          end
          entry_start, value_start, i = i + 1, nil, i + 1
        end
      end
      return names
    end

    -- command.datatime-missing, decided as lint decides it (SegmentChecks.checkCommand), in its words.
    local DATA_UPLOADS = { ["2011"] = true, ["2021"] = true }
    local PERIOD_UPLOADS = { ["2031"] = true, ["2041"] = true, ["2051"] = true, ["2061"] = true, ["2062"] = true, ["2111"] = true }
    local function check_datatime(item, cn, segment)
      local names = cn and cp_names(segment)
      if not names or (#names == 1 and names[1] == "") then return end  -- no CP, or an encrypted one
      local has = {}
      for _, name in ipairs(names) do has[name] = true end
      local missing
      if DATA_UPLOADS[cn] then
        missing = #names > 0 and not has["DataTime"]
      elseif PERIOD_UPLOADS[cn] then
        missing = not (has["BeginTime"] or has["EndTime"] or has["DataTime"])
      elseif cn == "3020" then
        if not has["DataTime"] and not has["InfoId"] and #names > 0 then
          flag(item, "command.datatime-missing", "3020 information upload without DataTime (a request would carry InfoId)")
        end
      end
      if missing then
        flag(item, "command.datatime-missing", "CN=" .. cn .. (COMMANDS_ZH[cn] and (" (" .. COMMANDS_ZH[cn] .. ")") or "") .. " upload without DataTime")
      end
    end

    """#
}
