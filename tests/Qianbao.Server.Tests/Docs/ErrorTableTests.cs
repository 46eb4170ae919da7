using System.Reflection;
using System.Text.RegularExpressions;
using Qianbao.Server.Http;

namespace Qianbao.Server.Tests.Docs;

/// <summary>
/// README's error table against <see cref="ErrorCodes"/> both ways (code and status), and the server's sources
/// against <see cref="ErrorCodes"/>: a problem code written as a literal anywhere must be catalogued with the status
/// it is answered with, and every catalogued code must be used somewhere.
/// </summary>
public sealed partial class ErrorTableTests
{
    [Fact]
    public void TheTableListsEveryCodeWithItsStatusAndNothingElse()
    {
        var documented = new List<(string Code, int Status)>();
        foreach (var row in Readme.TableRows("Errors"))
        {
            var status = row[0] == "other" ? 0 : int.Parse(row[0], System.Globalization.CultureInfo.InvariantCulture);
            var codes = Readme.CodeSpans(row[1]);
            codes.ShouldNotBeEmpty($"an error row without a code: {string.Join('|', row)}");
            documented.AddRange(codes.Select(c => (c, status)));
        }
        documented.Select(d => d.Code).ShouldBeUnique();
        var catalogued = Catalogue().Select(c => (c.Key, c.Value)).ToList();

        documented.Except(catalogued).ShouldBeEmpty("README documents codes (or statuses) the API does not return");
        catalogued.Except(documented).ShouldBeEmpty("the API returns codes README does not document");
    }

    [Fact]
    public void EveryProblemCodeInTheSourcesIsCatalogued()
    {
        var catalogue = Catalogue();
        var found = 0;
        foreach (var (file, code, status) in SourceProblemCodes())
        {
            found++;
            catalogue.ShouldContainKey(code, $"{file} answers problem code '{code}', which ErrorCodes (and README) lack");
            if (status is { } s) catalogue[code].ShouldBe(s, $"{file} answers '{code}' with status {s}");
        }
        found.ShouldBeGreaterThan(30, "the scan should find the literals the sources are known to hold");
    }

    [Fact]
    public void EveryCataloguedCodeIsUsed()
    {
        // Everything but the declarations themselves (ErrorCodes.ForBareStatus is a use).
        var sources = string.Join('\n', SourceFiles().SelectMany(File.ReadAllLines).Where(l => !l.Contains("public const string", StringComparison.Ordinal)));
        var unused = typeof(ErrorCodes).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral && f.Name != nameof(ErrorCodes.OtherHttpStatus))
            .Where(f => !sources.Contains($"\"{f.GetRawConstantValue()}\"", StringComparison.Ordinal)
                        && !sources.Contains("ErrorCodes." + f.Name, StringComparison.Ordinal))
            .Select(f => f.Name).ToList();
        unused.ShouldBeEmpty("catalogued codes nothing answers");
    }

    private static Dictionary<string, int> Catalogue()
    {
        var fields = typeof(ErrorCodes).GetFields(BindingFlags.Public | BindingFlags.Static).Where(f => f.IsLiteral).ToList();
        fields.Where(f => f.GetCustomAttribute<ProblemStatusAttribute>() is null).Select(f => f.Name).ShouldBeEmpty("every code has its status");
        return fields.ToDictionary(f => (string)f.GetRawConstantValue()!, f => f.GetCustomAttribute<ProblemStatusAttribute>()!.Status);
    }

    private static IEnumerable<string> SourceFiles()
    {
        var root = Path.Combine(Readme.RepositoryRoot(), "src", "Qianbao.Server");
        return Directory.EnumerateFiles(root, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                        && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal));
    }

    /// <summary>Problem codes written as literals, with the status where the call shows it.</summary>
    private static IEnumerable<(string File, string Code, int? Status)> SourceProblemCodes()
    {
        foreach (var file in SourceFiles())
        {
            var text = File.ReadAllText(file);
            var name = Path.GetRelativePath(Readme.RepositoryRoot(), file);
            foreach (Match m in Shorthand().Matches(text))
            {
                var status = m.Groups[1].Value switch { "BadRequest" => 400, "Unauthorized" => 401, "Conflict" => 409, "Unprocessable" => 422, var other => throw new InvalidOperationException(other) };
                yield return (name, m.Groups[2].Value, status);
            }
            foreach (Match m in Explicit().Matches(text))
                yield return (name, m.Groups[2].Value, int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
            foreach (Match _ in NotFound().Matches(text)) yield return (name, "not_found", 404);
            // Helpers of other shapes (LedgerProblems' Problem("code", ...)): the code at least must be catalogued.
            foreach (Match m in Helper().Matches(text)) yield return (name, m.Groups[1].Value, null);
        }
    }

    [GeneratedRegex("""ApiProblem\.(BadRequest|Unauthorized|Conflict|Unprocessable)\(\s*"([^"]+)"\s*,""")]
    private static partial Regex Shorthand();

    [GeneratedRegex("""ApiProblem\.(?:Create|Body)\(\s*(?:StatusCodes\.Status)?(\d{3})\w*\s*,\s*"([^"]+)"\s*,""")]
    private static partial Regex Explicit();

    [GeneratedRegex("""ApiProblem\.NotFound\(""")]
    private static partial Regex NotFound();

    [GeneratedRegex("""(?<![\w.])Problem\(\s*"([a-z0-9_]+)"\s*,""")]
    private static partial Regex Helper();
}
