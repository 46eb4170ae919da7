using System.Text.RegularExpressions;

namespace Qianbao.Server.Tests.Docs;

/// <summary>The repository's README.md, and the rows of its tables.</summary>
internal static partial class Readme
{
    private static readonly Lazy<string> Text = new(() => File.ReadAllText(Path.Combine(RepositoryRoot(), "README.md")));

    /// <summary>The repository root: the first directory above the test assembly that holds Qianbao.slnx.</summary>
    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Qianbao.slnx"))) return dir.FullName;
        }
        throw new DirectoryNotFoundException($"no Qianbao.slnx above {AppContext.BaseDirectory}");
    }

    /// <summary>The cells of every table row (header and separator rows excluded) under the heading <c>## {heading}</c>.</summary>
    public static IReadOnlyList<string[]> TableRows(string heading)
    {
        var lines = Text.Value.Split('\n');
        var start = Array.FindIndex(lines, l => l.TrimEnd() == "## " + heading);
        if (start < 0) throw new InvalidOperationException($"README has no section '## {heading}'");
        var rows = new List<string[]>();
        var headerSeen = false;
        for (var i = start + 1; i < lines.Length && !lines[i].StartsWith("## ", StringComparison.Ordinal); i++)
        {
            var line = lines[i].Trim();
            if (!line.StartsWith('|')) continue;
            if (line.StartsWith("|---", StringComparison.Ordinal)) { headerSeen = true; continue; }
            if (!headerSeen) continue;
            rows.Add(line.Trim('|').Split('|').Select(c => c.Trim()).ToArray());
        }
        return rows;
    }

    /// <summary>The texts of the <c>`code spans`</c> in a cell, in order.</summary>
    public static IReadOnlyList<string> CodeSpans(string cell) => CodeSpan().Matches(cell).Select(m => m.Groups[1].Value).ToList();

    [GeneratedRegex("`([^`]+)`")]
    private static partial Regex CodeSpan();
}
