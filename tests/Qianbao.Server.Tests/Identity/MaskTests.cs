using Qianbao.Server.Modules.Identity;

namespace Qianbao.Server.Tests.Identity;

/// <summary>Item 7: the masks API answers show personal data in (rules in Masks and PhoneNumber.Mask).</summary>
public sealed class MaskTests
{
    [Theory]
    [InlineData("磊", "*")]
    [InlineData("李磊", "*磊")]
    [InlineData("王小明", "**明")]
    [InlineData("欧阳娜娜", "***娜")]
    [InlineData(" 李磊 ", "*磊")]
    [InlineData("Bob", "B***")]
    [InlineData("Li Lei", "L*** L***")]
    [InlineData("Han  Meimei", "H*** M***")]
    [InlineData("X", "*")]
    [InlineData("J R Smith", "* * S***")]
    [InlineData("José", "J***")]
    [InlineData("𠀋磊", "*磊")]
    [InlineData("李𠀋", "*𠀋")]
    public void Names(string name, string masked) => Masks.Name(name).ShouldBe(masked);

    [Theory]
    [InlineData("+8613800138000", "138****8000")]
    [InlineData("+447700900123", "+44****0123")]
    [InlineData("+1234567", "****")]
    public void Phones(string e164, string masked) => PhoneNumber.Mask(e164).ShouldBe(masked);

    [Fact]
    public void Id_numbers_keep_the_first_and_last_character() => Masks.IdNumber("11010519491231002X").ShouldBe("1****************X");
}
