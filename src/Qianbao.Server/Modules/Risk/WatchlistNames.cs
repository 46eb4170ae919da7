using System.Collections.Frozen;
using System.Globalization;
using System.Text;

namespace Qianbao.Server.Modules.Risk;

/// <summary>
/// How a name is compared with the watchlist: normalised (full-width letters, digits and spaces folded to ordinary
/// ones; lower case; spaces and name separators removed; traditional characters mapped to simplified by a small built-in table of common surname and given-name characters), then equal, or within edit distance 1 when
/// both have 3 or more characters (a two-character name one character off is a different person too often).
/// </summary>
internal static class WatchlistNames
{
    /// <summary>Names this long or longer may differ by one edit and still match.</summary>
    public const int FuzzyLengthMin = 3;

    // Traditional → simplified for characters common in names; not a general converter (none is at hand without a package).
    private static readonly FrozenDictionary<char, char> Simplified = Pairs(
        "張张陳陈劉刘黃黄楊杨趙赵吳吴週周孫孙馬马羅罗鄭郑謝谢許许韓韩馮冯鄧邓蕭萧蔣蒋葉叶蘇苏呂吕盧卢鍾钟譚谭陸陆範范賈贾韋韦鄒邹閻阎" +
        "龍龙賀贺顧顾龔龚萬万錢钱嚴严湯汤聶聂齊齐鄔邬關关遲迟歐欧孫孙" +
        "偉伟華华國国強强軍军東东紅红麗丽靜静傑杰濤涛輝辉鵬鹏飛飞鳳凤豐丰興兴貴贵義义寶宝慶庆榮荣瑩莹嬌娇蘭兰雲云艷艳學学嶺岭愛爱" +
        "進进發发財财長长維维聰聪穎颖倫伦凱凯駿骏鴻鸿賢贤勝胜順顺誠诚連连達达錦锦鋒锋銘铭臺台灣湾廣广傳传書书開开門门問问");

    private static FrozenDictionary<char, char> Pairs(string s)
    {
        var map = new Dictionary<char, char>();
        for (var i = 0; i + 1 < s.Length; i += 2) map[s[i]] = s[i + 1];
        return map.ToFrozenDictionary();
    }

    public static string Normalize(string name)
    {
        var sb = new StringBuilder(name.Length);
        foreach (var raw in name)
        {
            // Width folding by hand: the server runs with invariant globalization, where string.Normalize leaves non-ASCII alone.
            var c = raw switch
            {
                >= '\uFF01' and <= '\uFF5E' => (char)(raw - 0xFEE0),
                '\u3000' => ' ',
                _ => raw,
            };
            if (char.IsWhiteSpace(c) || c is '·' or '•' or '.' or '-' or '\'' or '・') continue;
            var lower = char.ToLowerInvariant(c);
            sb.Append(Simplified.TryGetValue(lower, out var simple) ? simple : lower);
        }
        return sb.ToString();
    }

    /// <summary>Whether two normalised names are the same person's by the rule above.</summary>
    public static bool Match(string a, string b)
    {
        if (a.Length == 0 || b.Length == 0) return false;
        if (a == b) return true;
        return Length(a) >= FuzzyLengthMin && Length(b) >= FuzzyLengthMin && WithinOneEdit(Elements(a), Elements(b));
    }

    private static int Length(string s) => new StringInfo(s).LengthInTextElements;

    private static string[] Elements(string s)
    {
        var list = new List<string>();
        var e = StringInfo.GetTextElementEnumerator(s);
        while (e.MoveNext()) list.Add(e.GetTextElement());
        return [.. list];
    }

    /// <summary>Levenshtein distance ≤ 1 (one insertion, deletion or substitution), in one pass.</summary>
    private static bool WithinOneEdit(string[] a, string[] b)
    {
        if (Math.Abs(a.Length - b.Length) > 1) return false;
        if (a.Length < b.Length) (a, b) = (b, a);
        int i = 0, j = 0, edits = 0;
        while (i < a.Length && j < b.Length)
        {
            if (a[i] == b[j]) { i++; j++; continue; }
            if (++edits > 1) return false;
            if (a.Length == b.Length) j++;
            i++;
        }
        return edits + (a.Length - i) <= 1;
    }
}
