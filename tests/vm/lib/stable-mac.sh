# The stable MAC scheme of docs/config.md, computed apart from sriovd's own
# code (sourced): stable_mac_of PERM_MAC INDEX prints the MAC VF INDEX of a
# PF with that permanent MAC gets.
stable_mac_mix() {
	local x=$1
	x=$(((x * 0x9E3779) & 0xFFFFFF))
	x=$((x ^ (x >> 12)))
	x=$(((x * 0x2C1B3D) & 0xFFFFFF))
	echo $((x ^ (x >> 12)))
}
stable_mac_of() {
	local p=${1//:/} i=$2
	local oui=$((16#${p:0:6})) nic=$((16#${p:6:6}))
	local h=$((nic ^ $(stable_mac_mix "$oui")))
	printf '02:%02x:%02x:%02x:%02x:%02x\n' $((h >> 16)) $(((h >> 8) & 255)) $((h & 255)) $((i >> 8)) $((i & 255))
}
