using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Reflection;
using Microsoft.Extensions.Options;

namespace Qianbao.Server.Hosting;

/// <summary>One configuration key an options class binds: its full name and the property that receives it.</summary>
/// <param name="Key">The full key, e.g. <c>Qianbao:Holds:IntervalMs</c>.</param>
/// <param name="Path">Properties from the section's options class down to <paramref name="Property"/>.</param>
public sealed record OptionKey(string Key, IReadOnlyList<PropertyInfo> Path)
{
    public PropertyInfo Property => Path[^1];

    /// <summary>The value a fresh options object has at this key, i.e. the default when the key is unset.</summary>
    public object? DefaultValue(object freshOptions)
    {
        object? value = freshOptions;
        foreach (var p in Path) value = value is null ? null : p.GetValue(value);
        return value;
    }
}

/// <summary>
/// The one way configuration is checked: ranges come from <see cref="RangeAttribute"/> on the options' numeric
/// properties, other rules from <see cref="IOptionsRules"/>, enums must be named members, nested options classes
/// are walked. Every problem is one sentence that starts with the full key and ends with the offending value.
/// </summary>
public static class OptionsRules
{
    /// <summary>The problems of <paramref name="options"/> bound from <paramref name="section"/>; empty when it is valid.</summary>
    public static IReadOnlyList<string> Check(object options, string section)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = new List<string>();
        CheckInto(options, section, problems);
        return problems;
    }

    /// <summary>Throws <see cref="ConfigurationRefusedException"/> listing every problem, if there is one.</summary>
    public static void ThrowIfInvalid(object options, string section)
    {
        var problems = Check(options, section);
        if (problems.Count > 0) throw new ConfigurationRefusedException(problems);
    }

    /// <summary>Every leaf key an options class of <paramref name="type"/> binds under <paramref name="section"/>, nested classes walked.</summary>
    public static IEnumerable<OptionKey> Keys(Type type, string section) => KeysOf(type, section, []);

    /// <summary>
    /// Problems with raw values that the configuration binder could not convert (<c>IntervalMs=abc</c>) or would
    /// convert wrongly (an enum given as a number). Run before binding, so they become one line, not a stack trace.
    /// </summary>
    public static IReadOnlyList<string> CheckRawValues(IConfiguration configuration, Type type, string section)
    {
        var problems = new List<string>();
        foreach (var key in Keys(type, section))
        {
            var raw = configuration[key.Key];
            if (raw is null) continue;
            var target = Nullable.GetUnderlyingType(key.Property.PropertyType) ?? key.Property.PropertyType;
            if (target == typeof(string)) continue;
            if (!Converts(raw, target)) problems.Add($"{key.Key} must be {Expected(key.Property)} (was '{raw}')");
        }
        return problems;
    }

    /// <summary>What a key accepts, in words: "an integer 50..600000", "sandbox or production", "true or false".</summary>
    public static string Expected(PropertyInfo property)
    {
        var target = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
        var range = property.GetCustomAttribute<RangeAttribute>();
        if (target.IsEnum) return string.Join(" or ", Enum.GetNames(target).Select(n => n.ToLowerInvariant()));
        if (target == typeof(bool)) return "true or false";
        if (range is not null) return $"an integer {RangeText(range)}";
        if (target == typeof(int) || target == typeof(long)) return "an integer";
        return "a " + target.Name;
    }

    /// <summary>The range as written in README and in messages: <c>min..max</c>.</summary>
    public static string RangeText(RangeAttribute range) =>
        $"{Bound(range.Minimum).ToString(CultureInfo.InvariantCulture)}..{Bound(range.Maximum).ToString(CultureInfo.InvariantCulture)}";

    /// <summary>A value as configuration spells it: invariant numbers, lower-case enums and booleans.</summary>
    public static string? Format(object? value) => value switch
    {
        null => null,
        bool b => b ? "true" : "false",
        Enum e => e.ToString().ToLowerInvariant(),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString(),
    };

    private static void CheckInto(object options, string section, List<string> problems)
    {
        foreach (var property in BoundProperties(options.GetType()))
        {
            var key = section + ":" + property.Name;
            var value = property.GetValue(options);
            if (IsNested(property.PropertyType))
            {
                if (value is not null) CheckInto(value, key, problems);
                continue;
            }
            if (value is Enum e && !Enum.IsDefined(e.GetType(), e))
                problems.Add($"{key} must be {Expected(property)} (was '{Format(value)}')");
            var range = property.GetCustomAttribute<RangeAttribute>();
            if (range is not null && value is not null)
            {
                var number = Convert.ToDecimal(value, CultureInfo.InvariantCulture);
                if (number < Bound(range.Minimum) || number > Bound(range.Maximum))
                    problems.Add($"{key} must be {RangeText(range)} (was {Format(value)})");
            }
        }
        if (options is IOptionsRules rules)
            problems.AddRange(rules.Problems().Select(p => $"{section}:{p.Property} {p.Problem}"));
    }

    private static IEnumerable<OptionKey> KeysOf(Type type, string section, IReadOnlyList<PropertyInfo> path)
    {
        foreach (var property in BoundProperties(type))
        {
            var here = path.Append(property).ToList();
            var key = section + ":" + property.Name;
            if (IsNested(property.PropertyType))
            {
                foreach (var inner in KeysOf(property.PropertyType, key, here)) yield return inner;
            }
            else
            {
                yield return new OptionKey(key, here);
            }
        }
    }

    /// <summary>What the configuration binder binds: public instance properties with a public setter.</summary>
    private static IEnumerable<PropertyInfo> BoundProperties(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.SetMethod is { IsPublic: true } && p.GetIndexParameters().Length == 0);

    /// <summary>A nested options class (its properties are keys of a subsection), as opposed to a value.</summary>
    private static bool IsNested(Type type) => type.IsClass && type != typeof(string) && type.Assembly == typeof(OptionsRules).Assembly;

    private static decimal Bound(object bound) => Convert.ToDecimal(bound, CultureInfo.InvariantCulture);

    private static bool Converts(string raw, Type target)
    {
        if (target.IsEnum)
        {
            // Names only: Enum.Parse would also take "1" and silently pick whatever member has that number.
            return Enum.GetNames(target).Any(n => n.Equals(raw.Trim(), StringComparison.OrdinalIgnoreCase));
        }
        try
        {
            // The converter the configuration binder itself uses, so what passes here binds there.
            return raw.Trim().Length > 0 && TypeDescriptor.GetConverter(target).ConvertFromInvariantString(raw) is not null;
        }
        catch (Exception e) when (e is FormatException or ArgumentException or NotSupportedException or OverflowException
                                      || e.InnerException is FormatException or OverflowException)
        {
            return false;
        }
    }
}

/// <summary>Runs <see cref="OptionsRules"/> for one options class when it is first resolved (and at start, by ValidateOnStart).</summary>
internal sealed class OptionsRulesValidator<T>(string section) : IValidateOptions<T> where T : class
{
    public string Section { get; } = section;

    public ValidateOptionsResult Validate(string? name, T options)
    {
        var problems = OptionsRules.Check(options, Section);
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
