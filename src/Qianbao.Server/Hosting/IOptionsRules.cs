namespace Qianbao.Server.Hosting;

/// <summary>
/// An options class with rules beyond the <see cref="System.ComponentModel.DataAnnotations.RangeAttribute"/> on
/// its numeric properties (a URL, a schedule). <see cref="OptionsRules"/> prefixes each problem with the key.
/// </summary>
internal interface IOptionsRules
{
    /// <summary>Problems as (property name, the rest of the sentence after the key), e.g. ("QrBaseUrl", "must be an absolute http(s) URL (was 'x')").</summary>
    IEnumerable<(string Property, string Problem)> Problems();
}
