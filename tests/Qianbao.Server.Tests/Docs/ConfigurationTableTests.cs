using System.ComponentModel.DataAnnotations;
using System.Reflection;
using Qianbao.Server.Hosting;

namespace Qianbao.Server.Tests.Docs;

/// <summary>
/// README's configuration table against what the server binds (<see cref="OptionsCatalog"/>: its options classes,
/// walked by reflection including nested ones, plus the keys read directly): the same keys both ways, the literal
/// defaults equal to the options' defaults, and each key's range written in its row.
/// </summary>
public sealed class ConfigurationTableTests
{
    private static readonly IReadOnlyList<string[]> Rows = Readme.TableRows("Configuration");

    [Fact]
    public void TheTableListsEveryBoundKeyAndNothingElse()
    {
        var bound = OptionsCatalog.Keys().Select(k => k.Key).Concat(OptionsCatalog.DirectKeys).ToList();
        bound.ShouldBeUnique();
        var documented = Rows.Select(Key).ToList();
        documented.ShouldBeUnique();

        documented.Except(bound).ShouldBeEmpty("README documents keys the server does not read");
        bound.Except(documented).ShouldBeEmpty("the server reads keys README does not document");
    }

    [Fact]
    public void LiteralDefaultsAreTheOptionsDefaults()
    {
        var checkedCount = 0;
        foreach (var section in OptionsCatalog.Sections)
        {
            var fresh = Activator.CreateInstance(section.Type)!;
            foreach (var key in OptionsRules.Keys(section.Type, section.Path))
            {
                var value = OptionsRules.Format(key.DefaultValue(fresh));
                if (value is null) continue; // Unset by default: README describes what that means in words.
                var cell = Row(key.Key)[1];
                Readme.CodeSpans(cell).FirstOrDefault().ShouldBe(value, $"README's default of {key.Key} ('{cell}')");
                checkedCount++;
            }
        }
        checkedCount.ShouldBeGreaterThanOrEqualTo(20, "the literal defaults known today");
    }

    [Fact]
    public void EveryRangeIsWrittenInItsRow()
    {
        foreach (var key in OptionsCatalog.Keys())
        {
            var range = key.Property.GetCustomAttribute<RangeAttribute>();
            if (range is null) continue;
            Row(key.Key)[2].ShouldContain(OptionsRules.RangeText(range), Case.Sensitive, $"README's row of {key.Key} states its range");
        }
    }

    private static string Key(string[] row) =>
        Readme.CodeSpans(row[0]).SingleOrDefault() ?? throw new InvalidOperationException($"a configuration row without one `key`: {string.Join('|', row)}");

    private static string[] Row(string key) => Rows.Single(r => Key(r) == key);
}
